package errdetail_test

import (
	"errors"
	"maps"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/rpc/errdetail"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name       string
		code       connect.Code
		msg        string
		reason     string
		meta       map[string]string
		wantReason string // ErrorInfo's
		wantField  string // BadRequest's, "" for none
	}{
		{"refusal with a reason", connect.CodeFailedPrecondition, "seat A1 of event ev_1 is taken", "SEAT_TAKEN",
			map[string]string{"seat": "A1"}, "SEAT_TAKEN", ""},
		{"refusal without one", connect.CodeNotFound, "hold hd_9 not found", "", nil, "NOT_FOUND", ""},
		{"bad field", connect.CodeInvalidArgument, "event_id: \"x\" is not an event id", "", nil, "INVALID_ARGUMENT", "event_id"},
		{"bad element", connect.CodeInvalidArgument, "seats[3]: event ev_1 has no seat \"Z9\"", "UNKNOWN_SEAT", nil, "UNKNOWN_SEAT", "seats[3]"},
		{"bad nested field", connect.CodeInvalidArgument, "writes[2].hold.ttl: not a valid duration", "", nil, "INVALID_ARGUMENT", "writes[2].hold.ttl"},
		{"no field named", connect.CodeInvalidArgument, "Event id is bad", "", nil, "INVALID_ARGUMENT", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := errdetail.New(tt.code, errors.New(tt.msg), tt.reason, tt.meta)
			if e.Code() != tt.code || e.Message() != tt.msg {
				t.Errorf("error %v, want %v: %s", e, tt.code, tt.msg)
			}
			if got := e.Meta().Get(errdetail.ReasonHeader); got != tt.reason {
				t.Errorf("Bookd-Reason %q, want %q", got, tt.reason)
			}
			info := errdetail.Info(e)
			if info.GetReason() != tt.wantReason || info.GetDomain() != errdetail.Domain || !maps.Equal(info.GetMetadata(), tt.meta) {
				t.Errorf("ErrorInfo %v, want reason %q, metadata %v", info, tt.wantReason, tt.meta)
			}
			fv := errdetail.FieldViolations(e)
			switch {
			case tt.wantField == "" && len(fv) > 0:
				t.Errorf("field violations %v, want none", fv)
			case tt.wantField != "" && (len(fv) != 1 || fv[0].GetField() != tt.wantField):
				t.Errorf("field violations %v, want %s", fv, tt.wantField)
			}
		})
	}
}

// Copy keeps the details and the headers asked for, and gives an error
// with a reason header but no ErrorInfo (a BatchWrite result's) one.
func TestCopy(t *testing.T) {
	shed := errdetail.New(connect.CodeResourceExhausted, errors.New("busy"), "", nil)
	errdetail.Retry(shed, 250*time.Millisecond)
	shed.Meta().Set("Retry-After", "1")
	shed.Meta().Set("Bookd-Leader", "10.0.0.1:8001")
	got := errdetail.Copy(shed, "Retry-After")
	if d, ok := errdetail.RetryDelay(got); !ok || d != 250*time.Millisecond {
		t.Errorf("copied RetryInfo %v %v, want 250ms", d, ok)
	}
	if got.Meta().Get("Retry-After") != "1" || got.Meta().Get("Bookd-Leader") != "" {
		t.Errorf("copied headers %v, want Retry-After only", got.Meta())
	}
	if got == shed || errdetail.Info(got).GetReason() != "RESOURCE_EXHAUSTED" {
		t.Errorf("copy %v: want a new error with the ErrorInfo", got)
	}

	batched := connect.NewError(connect.CodeFailedPrecondition, errors.New("event ev_1 is sold out"))
	batched.Meta().Set(errdetail.ReasonHeader, "SOLD_OUT")
	got = errdetail.Copy(batched, errdetail.ReasonHeader)
	if info := errdetail.Info(got); info.GetReason() != "SOLD_OUT" || info.GetDomain() != errdetail.Domain {
		t.Errorf("ErrorInfo %v, want SOLD_OUT", info)
	}
	if len(errdetail.FieldViolations(got)) != 0 {
		t.Error("a copy of a refusal without BadRequest has one")
	}
}
