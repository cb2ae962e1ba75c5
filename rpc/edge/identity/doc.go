// Package identity decides which customer a call through the edge acts
// for. Every call acts for exactly one customer: either one a portal vouches
// for with a signed token, or a guest the edge itself issued a session to.
// The edge then puts that customer id into the requests it forwards and
// refuses requests that name another.
//
// It owns the verification of customer tokens, the guest session cookie,
// and the Identity a request's context carries (Middleware, FromContext).
// It does not decide what an identity may do.
//
// # Customer tokens
//
// A portal that authenticates its users sends the edge
// "Authorization: Bearer <jwt>". The token is a JWS in compact form signed
// with HS256 under a key shared with the portal, or with RS256, ES256 or
// EdDSA under a key in a JWKS file the operator installs (LoadJWKS). Keys
// are never taken from the token itself (jwk, jku, x5u headers are
// ignored), each JWKS key verifies only its one algorithm, and HS256 is
// only ever checked with the shared key, so a public key cannot be turned
// into an HMAC secret. Unsigned tokens, other algorithms and tokens with a
// crit header are refused.
//
// A valid token proves only this: a holder of the portal's signing key said,
// within the token's validity window, that whoever presents it acts for
// customer sub (and, when configured, that the token was issued by Issuer
// for Audience). The edge never sees how the portal authenticated the user.
// The token is a bearer credential that cannot be revoked before its exp, so
// portals should issue short-lived tokens and send them only over TLS.
//
// # Guests
//
// A caller without a token is a guest. The edge gives it a random id,
// GuestPrefix followed by 128 random bits, in a cookie signed with the
// edge's session key (HMAC-SHA256) and valid for the session lifetime. A
// cookie that is missing, forged, tampered with or too old gets a fresh
// guest id: guest ids come only from the edge. That is why GuestPrefix is
// reserved: a token whose sub starts with it is refused, so no portal
// account, whatever ids the portal lets its users choose, can share an id
// with a guest and reach that guest's holds and bookings, nor the reverse.
//
// # Cross-site requests
//
// The session cookie is HttpOnly, so page scripts cannot read it, and
// SameSite=Lax, so browsers send it on another site's requests only for
// top-level GET navigations, never with a cross-site form POST or fetch: a
// forged cross-site POST acts for a new, empty guest, not for the victim.
// Pages on the same site but another origin (a sibling subdomain) do get
// the cookie sent, and there the edge's CORS policy is the guard: calls
// that change state are POSTs with a JSON or protobuf body, a content type
// that makes the browser send a CORS preflight first, and the edge allows
// only its configured origins. For this to hold, the handlers behind
// Middleware must not change state on GET, nor accept the content types a
// form can send without a preflight (application/x-www-form-urlencoded,
// multipart/form-data, text/plain).
package identity
