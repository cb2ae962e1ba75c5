// Package errdetail puts on bookd's refusals, and reads back, the standard
// error details of Google's API rules (AIP-193) that every Connect and gRPC
// client understands: a google.rpc.ErrorInfo with the refusal's reason, the
// domain bookd.dev and metadata naming what it is about; a
// google.rpc.RetryInfo on a RESOURCE_EXHAUSTED that says when to try again;
// a google.rpc.BadRequest naming the field of an INVALID_ARGUMENT. The
// reason also stays in the Bookd-Reason header (a trailer under gRPC) for
// curl users.
//
// Nodes (package rpc), edges (package rpc/edge) and the Go client share it;
// the client package exposes what callers need of it (client.Reason,
// client.ErrorMetadata, client.FieldViolations).
package errdetail

import (
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Domain is the ErrorInfo domain of every bookd refusal.
const Domain = "bookd.dev"

// ReasonHeader carries a refusal's reason as a header (a trailer under gRPC).
const ReasonHeader = "Bookd-Reason"

// New returns a refusal with code that wraps err. reason, when not empty,
// goes in the Bookd-Reason header. Every refusal has an ErrorInfo: its
// reason is reason, or without one the code's name (NOT_FOUND,
// INVALID_ARGUMENT), and its metadata is metadata. An INVALID_ARGUMENT
// whose message starts with a field's name ("seats[2]: ...") also has a
// BadRequest naming that field.
func New(code connect.Code, err error, reason string, metadata map[string]string) *connect.Error {
	return Describe(connect.NewError(code, err), reason, metadata)
}

// Describe adds to e what New puts on a refusal: the reason header, the
// ErrorInfo and, on an INVALID_ARGUMENT, the BadRequest. It returns e.
func Describe(e *connect.Error, reason string, metadata map[string]string) *connect.Error {
	code := e.Code()
	if reason != "" {
		e.Meta().Set(ReasonHeader, reason)
	}
	add(e, &errdetails.ErrorInfo{Reason: infoReason(code, reason), Domain: Domain, Metadata: maps.Clone(metadata)})
	if code == connect.CodeInvalidArgument {
		if field, desc, ok := fieldOf(e.Message()); ok {
			add(e, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: field, Description: desc},
			}})
		}
	}
	return e
}

// infoReason is the ErrorInfo reason of a refusal with code and reason.
func infoReason(code connect.Code, reason string) string {
	if reason != "" {
		return reason
	}
	return strings.ToUpper(code.String())
}

// fieldPattern matches the field a validation message starts with:
// "event_id: ...", "seats[3]: ...", "writes[2].hold.ttl: ...".
var fieldPattern = regexp.MustCompile(`^([a-z][a-z0-9_]*(?:\[[0-9]+\])?(?:\.[a-z][a-z0-9_]*(?:\[[0-9]+\])?)*): (.+)$`)

// fieldOf splits a validation message into the field it names and what is
// wrong with it.
func fieldOf(msg string) (field, description string, ok bool) {
	m := fieldPattern.FindStringSubmatch(msg)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// Retry adds to e a RetryInfo asking the caller to wait after before trying
// again.
func Retry(e *connect.Error, after time.Duration) {
	add(e, &errdetails.RetryInfo{RetryDelay: durationpb.New(after)})
}

// add appends msg to e's details. The message types are linked in and
// well-formed, so marshalling cannot fail.
func add(e *connect.Error, msg proto.Message) {
	d, err := connect.NewErrorDetail(msg)
	if err != nil {
		panic("errdetail: " + err.Error())
	}
	e.AddDetail(d)
}

// Copy returns a new error with e's code, message and details and the
// metadata under keys (an error from another node or another goroutine is
// copied before it is passed on: interceptors add to the error they
// return). An e that came without an ErrorInfo but with a Bookd-Reason
// (from a BatchWrite result) gets one with that reason.
func Copy(e *connect.Error, keys ...string) *connect.Error {
	out := connect.NewError(e.Code(), errors.New(e.Message()))
	for _, k := range keys {
		if v := e.Meta().Values(k); len(v) > 0 {
			out.Meta()[k] = slices.Clone(v)
		}
	}
	for _, d := range e.Details() {
		out.AddDetail(d) // read-only once made
	}
	if r := e.Meta().Get(ReasonHeader); r != "" && Info(e) == nil {
		add(out, &errdetails.ErrorInfo{Reason: r, Domain: Domain})
	}
	return out
}

// Info is err's ErrorInfo in bookd's domain, or nil.
func Info(err error) *errdetails.ErrorInfo {
	for _, info := range details[*errdetails.ErrorInfo](err) {
		if info.GetDomain() == Domain {
			return info
		}
	}
	return nil
}

// RetryDelay is the delay err's RetryInfo asks for, and whether it has one.
func RetryDelay(err error) (time.Duration, bool) {
	for _, ri := range details[*errdetails.RetryInfo](err) {
		if ri.GetRetryDelay().IsValid() {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

// FieldViolations are the field violations of err's BadRequest details.
func FieldViolations(err error) []*errdetails.BadRequest_FieldViolation {
	var out []*errdetails.BadRequest_FieldViolation
	for _, br := range details[*errdetails.BadRequest](err) {
		out = append(out, br.GetFieldViolations()...)
	}
	return out
}

// details returns err's details of type T.
func details[T proto.Message](err error) []T {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil
	}
	var out []T
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			continue // a type this binary does not know
		}
		if t, ok := v.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
