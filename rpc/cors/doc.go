// Package cors lets web pages on other origins call bookd from a browser
// (Cross-Origin Resource Sharing).
//
// A browser sends a page's cross-origin call only once the server has said,
// in its answer to a preflight (OPTIONS with Access-Control-Request-Method),
// that the page's origin may send it, and lets the page read the answer only
// if it names that origin in Access-Control-Allow-Origin. Connect and
// gRPC-Web calls always need a preflight: their content types and headers
// are not ones a browser sends across origins unasked.
//
// A Policy allows an explicit list of exact origins (scheme://host[:port]),
// never "*", and never echoes an origin that is not on the list. It answers
// preflights itself, before any authentication (browsers send preflights
// without credentials), so wrap it outermost. Calls from origins not on the
// list pass through without CORS headers: the browser then keeps the
// answer from the page. With no origins configured the middleware is the
// handler itself: CORS is off by default.
//
// The headers a policy allows and exposes are fixed (AllowedHeaders,
// ExposedHeaders): those the Connect, gRPC-Web and Connect JSON protocols
// use, and bookd's own (Bookd-Leader, Bookd-Reason, retry hints, the request
// id, the edge's admission ticket).
package cors
