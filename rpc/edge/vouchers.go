package edge

import (
	"context"
	"errors"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/fsm"
	"github.com/bookd/bookd/rpc/errdetail"
)

// Voucher codes are secrets a stranger can type. A node tells its trusted
// callers why a code was refused (unknown, outside its window, used up);
// an edge tells everyone one thing, so that its answers do not say which
// codes exist, and it counts each client's refused codes, so that codes
// cannot be guessed at the rate of its other limits.

// ReasonVoucherAttempts: the client had too many voucher codes refused
// lately; its holds naming a code are refused for a while (RetryInfo says
// how long). Holds without a code go through.
const ReasonVoucherAttempts = "VOUCHER_ATTEMPTS"

// voucherField is the request field a voucher refusal is about.
const voucherField = "voucher_code"

// msgVoucherNotValid is the one answer to a code that cannot be used,
// whatever the node's reason: written for the shopper who typed it.
const msgVoucherNotValid = "This code can't be used for this order."

// voucherViolation names the field of every voucher refusal; details are
// read-only once made, so one serves every refusal.
var voucherViolation = mustDetail(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
	{Field: voucherField, Description: msgVoucherNotValid},
}})

func mustDetail(m *errdetails.BadRequest) *connect.ErrorDetail {
	d, err := connect.NewErrorDetail(m)
	if err != nil {
		panic("edge: " + err.Error())
	}
	return d
}

// voucherNotValid is the edge's answer to a refused code: FAILED_PRECONDITION,
// reason VOUCHER_NOT_VALID, nothing of the voucher (its limit, its window).
func voucherNotValid() error {
	e := errdetail.New(connect.CodeFailedPrecondition, errors.New(voucherField+": "+msgVoucherNotValid), fsm.ReasonVoucherNotValid, nil)
	e.AddDetail(voucherViolation)
	return e
}

// isVoucherRefusal reports whether a node refused a hold for its code: it
// is unknown, not valid for the order or now, used up, or takes an amount
// off in another currency than the order's (the currency refusal of an
// order's items names an item, not voucher_code).
func isVoucherRefusal(err error) bool {
	switch client.Reason(err) {
	case fsm.ReasonVoucherUnknown, fsm.ReasonVoucherNotValid, fsm.ReasonVoucherUsedUp:
		return true
	case fsm.ReasonCurrencyMismatch:
		var ce *connect.Error
		return errors.As(err, &ce) && strings.HasPrefix(ce.Message(), voucherField+":")
	}
	return false
}

// voucherTry is a hold naming a code, admitted by tryVoucher: the client
// it counts against, if it names one.
type voucherTry struct {
	client string
	taken  bool
}

// tryVoucher admits a hold naming code (none: nothing to admit) from the
// caller of ctx if its client may have another code refused. Each try
// takes one of the client's refusals ahead; judgeVoucher gives it back
// unless the code was refused, so a client cannot have more codes in
// flight than it may yet have refused.
func (s *Server) tryVoucher(ctx context.Context, code string) (voucherTry, error) {
	if code == "" {
		return voucherTry{}, nil
	}
	var key string
	if info, ok := connect.CallInfoForHandlerContext(ctx); ok {
		key = s.clientIP(info.Peer().Addr, info.RequestHeader())
	}
	if ok, wait := s.voucherLim.allow(key); !ok {
		return voucherTry{}, tooManyVouchers(wait)
	}
	return voucherTry{client: key, taken: true}, nil
}

// judgeVoucher passes on the answer to a hold admitted by tryVoucher, a
// refused code in the edge's one answer.
func (s *Server) judgeVoucher(try voucherTry, err error) error {
	if isVoucherRefusal(err) {
		return voucherNotValid()
	}
	if try.taken {
		s.voucherLim.giveBack(try.client)
	}
	return err
}

// tooManyVouchers refuses a hold naming a code from a client that had too
// many refused: RESOURCE_EXHAUSTED with when to try again, as a RetryInfo
// and the retry-after headers client.RetryAfter reads.
func tooManyVouchers(wait time.Duration) error {
	return client.OverloadedBecause(ReasonVoucherAttempts,
		voucherField+": too many codes that can't be used were tried from here; try again later, or hold without a code", wait)
}

// newVoucherLimiter counts refused codes per client: n per window, a
// client's n at once.
func newVoucherLimiter(n int, window time.Duration) *limiter {
	return newLimiter(float64(n)/window.Seconds(), n)
}
