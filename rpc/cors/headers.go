package cors

// Preflight answers allow these methods: GET for Connect's GET unary calls
// (side-effect-free procedures), POST for everything else.
var allowedMethods = []string{"GET", "POST"}

// maxAge is how long, in seconds, a browser may cache a preflight's answer
// (Chromium caps it at two hours).
const maxAge = "7200"

// Request headers pages send with Connect, gRPC-Web and bookd calls.
var allowedHeaders = []string{
	// Every protocol.
	"Content-Type",
	"X-User-Agent",
	// Connect: unary requests name their compression in Content-Encoding,
	// streams in Connect-Content-Encoding and Connect-Accept-Encoding.
	"Connect-Protocol-Version",
	"Connect-Timeout-Ms",
	"Content-Encoding",
	"Connect-Content-Encoding",
	"Connect-Accept-Encoding",
	// gRPC-Web.
	"X-Grpc-Web",
	"Grpc-Timeout",
	"Grpc-Encoding",
	"Grpc-Accept-Encoding",
	// bookd: bearer tokens, a caller's request id, the edge's admission
	// ticket from its waiting room.
	"Authorization",
	"X-Request-Id",
	"Bookd-Admission",
}

// Response headers pages may read.
var exposedHeaders = []string{
	// bookd: where the leader is, why a call was refused, when to retry,
	// and the id to quote when reporting a problem.
	"Bookd-Leader",
	"Bookd-Reason",
	"Bookd-Retry-After-Ms",
	"Retry-After",
	"X-Request-Id",
	// gRPC-Web: the status of a call that failed before its body.
	"Grpc-Status",
	"Grpc-Message",
	"Grpc-Status-Details-Bin",
	"Grpc-Encoding",
	"Grpc-Accept-Encoding",
	// Connect streams name their compression.
	"Connect-Content-Encoding",
	"Connect-Accept-Encoding",
}

// AllowedMethods returns the methods a preflight's answer allows.
func AllowedMethods() []string { return clone(allowedMethods) }

// AllowedHeaders returns the request headers a preflight's answer allows.
func AllowedHeaders() []string { return clone(allowedHeaders) }

// ExposedHeaders returns the response headers an allowed page may read (in
// addition to those every page may: Content-Type and a few others).
func ExposedHeaders() []string { return clone(exposedHeaders) }

func clone(s []string) []string { return append([]string(nil), s...) }
