package fsm

import (
	"slices"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
)

// Vouchers take an amount or a percentage off an order. A voucher's
// redemptions are inventory: one is counted in the commit that places a
// hold naming it and given back in the commit that expires or releases the
// hold, so a code good for 50 orders is never used by 51.

const (
	MaxVoucherRedemptions = 1_000_000_000
	// MaxVoucherTargets bounds a voucher's event_ids and product_ids each.
	MaxVoucherTargets = 100
	// MaxPrice bounds a price or an amount off, in minor units: with at
	// most MaxOrderItems items of MaxQuantityOfHold tickets, an order's
	// total stays far from overflowing an int64.
	MaxPrice = 1_000_000_000_000
)

func (t *txn) createVoucher(r *bookdv1.CreateVoucherRequest) (proto.Message, *Error) {
	if err := ValidateCreateVoucher(r); err != nil {
		return nil, err
	}
	in := r.GetVoucher()
	k := voucherKey(in.GetCode())
	if _, exists := getValueT(t, k); exists {
		return nil, errorf(CodeAlreadyExists, ReasonVoucherExists, "voucher.code: a voucher %q exists already", in.GetCode())
	}
	for i, id := range in.GetEventIds() {
		if _, _, _, err := t.event("voucher.event_ids", id); err != nil {
			return nil, notFound("voucher.event_ids[%d]: event %s not found", i, id).with(MetaEvent, id)
		}
	}
	for i, id := range in.GetProductIds() {
		n, _ := parseID(kindProduct, id)
		if _, ok := getValueT(t, key(prefixProd, n)); !ok {
			return nil, notFound("voucher.product_ids[%d]: product %s not found", i, id).with(MetaProduct, id)
		}
	}
	v := &bookdv1.Voucher{
		Code:           in.GetCode(),
		AmountOff:      in.GetAmountOff(),
		PercentOff:     in.GetPercentOff(),
		Currency:       in.GetCurrency(),
		EventIds:       in.GetEventIds(),
		ProductIds:     in.GetProductIds(),
		ValidFrom:      in.GetValidFrom(),
		ValidUntil:     in.GetValidUntil(),
		MaxRedemptions: in.GetMaxRedemptions(),
		CreatedAt:      t.timestamp(),
	}
	t.setProto(k, v)
	return &bookdv1.CreateVoucherResponse{Voucher: v}, nil
}

// ValidateCreateVoucher checks a CreateVoucherRequest. A voucher's
// redeemed and created_at are the server's: values given are ignored.
func ValidateCreateVoucher(r *bookdv1.CreateVoucherRequest) *Error {
	v := r.GetVoucher()
	if v == nil {
		return invalid("voucher: required")
	}
	if err := ValidateVoucherCode("voucher.code", v.GetCode()); err != nil {
		return err
	}
	switch amount, pct := v.GetAmountOff(), v.GetPercentOff(); {
	case amount != 0 && pct != 0:
		return invalid("voucher.percent_off: give amount_off or percent_off, not both")
	case amount == 0 && pct == 0:
		return invalid("voucher.amount_off: give amount_off or percent_off")
	case amount < 0 || amount > MaxPrice:
		return invalid("voucher.amount_off: must be between 1 and %d minor units, got %d", int64(MaxPrice), amount)
	case pct < 0 || pct > 100:
		return invalid("voucher.percent_off: must be between 1 and 100, got %d", pct)
	case amount > 0 && v.GetCurrency() == "":
		return invalid("voucher.currency: required with amount_off")
	}
	if c := v.GetCurrency(); c != "" {
		if err := checkCurrency("voucher.currency", c); err != nil {
			return err
		}
	}
	if n := v.GetMaxRedemptions(); n < 1 || n > MaxVoucherRedemptions {
		return invalid("voucher.max_redemptions: must be between 1 and %d, got %d", MaxVoucherRedemptions, n)
	}
	if len(v.GetEventIds()) > MaxVoucherTargets || len(v.GetProductIds()) > MaxVoucherTargets {
		return invalid("voucher.event_ids: at most %d events and %d products", MaxVoucherTargets, MaxVoucherTargets)
	}
	for i, id := range v.GetEventIds() {
		if _, ok := parseID(kindEvent, id); !ok {
			return invalid("voucher.event_ids[%d]: %q is not an event id (like ev_12)", i, clip(id))
		}
	}
	for i, id := range v.GetProductIds() {
		if _, ok := parseID(kindProduct, id); !ok {
			return invalid("voucher.product_ids[%d]: %q is not a product id (like pr_12)", i, clip(id))
		}
	}
	for _, ts := range []struct {
		field string
		set   bool
		ok    bool
	}{
		{"voucher.valid_from", v.ValidFrom != nil, v.GetValidFrom().IsValid() && v.GetValidFrom().GetSeconds() < MaxStartsAtSeconds},
		{"voucher.valid_until", v.ValidUntil != nil, v.GetValidUntil().IsValid() && v.GetValidUntil().GetSeconds() < MaxStartsAtSeconds},
	} {
		if ts.set && !ts.ok {
			return invalid("%s: not a valid timestamp before 2200", ts.field)
		}
	}
	if v.ValidFrom != nil && v.ValidUntil != nil && timestampNanos(v.GetValidUntil()) <= timestampNanos(v.GetValidFrom()) {
		return invalid("voucher.valid_until: must be after valid_from")
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateVoucherCode checks a voucher code: 4 to 64 letters, digits, '_'
// and '-'.
func ValidateVoucherCode(field, code string) *Error {
	if len(code) < 4 || len(code) > 64 {
		return invalid("%s: 4 to 64 letters, digits, '_' or '-', got %d bytes", field, len(code))
	}
	for _, c := range []byte(code) {
		if !isNameByte(c) && c != '-' {
			return invalid("%s: only letters, digits, '_' and '-'", field)
		}
	}
	return nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func voucherKey(code string) []byte {
	return append(append([]byte(nil), prefixVoucher...), code...)
}

// redeemVoucher loads the voucher an order names and checks that it may be
// redeemed now; the caller counts the redemption (moveRedemptions) once
// the order is placed.
func (t *txn) redeemableVoucher(code string) (*bookdv1.Voucher, *Error) {
	v := new(bookdv1.Voucher)
	if !t.getProto(voucherKey(code), v) {
		return nil, errorf(CodeFailedPrecondition, ReasonVoucherUnknown, "voucher_code: no voucher %q", code)
	}
	switch {
	case v.ValidFrom != nil && t.now < timestampNanos(v.GetValidFrom()):
		return nil, errorf(CodeFailedPrecondition, ReasonVoucherNotValid, "voucher_code: %s is valid from %s",
			code, formatTime(timestampNanos(v.GetValidFrom())))
	case v.ValidUntil != nil && t.now >= timestampNanos(v.GetValidUntil()):
		return nil, errorf(CodeFailedPrecondition, ReasonVoucherNotValid, "voucher_code: %s was valid until %s",
			code, formatTime(timestampNanos(v.GetValidUntil())))
	case v.GetRedeemed() >= v.GetMaxRedemptions():
		return nil, errorf(CodeFailedPrecondition, ReasonVoucherUsedUp, "voucher_code: %s has reached its limit of %d redemptions",
			code, v.GetMaxRedemptions()).with(MetaLimit, itoa(v.GetMaxRedemptions()))
	}
	return v, nil
}

// voucherCovers reports whether a voucher is valid for an event.
func voucherCovers(v *bookdv1.Voucher, ev *bookdv1.Event) bool {
	if len(v.GetEventIds()) == 0 && len(v.GetProductIds()) == 0 {
		return true
	}
	return slices.Contains(v.GetEventIds(), ev.GetId()) ||
		ev.GetProductId() != "" && slices.Contains(v.GetProductIds(), ev.GetProductId())
}

// moveRedemptions counts (delta 1) or gives back (delta -1) a redemption.
func (t *txn) moveRedemptions(code string, delta int64) {
	v := new(bookdv1.Voucher)
	if !t.getProto(voucherKey(code), v) {
		panic("fsm: an order names missing voucher " + code)
	}
	v.Redeemed += delta
	if v.Redeemed < 0 || v.Redeemed > v.GetMaxRedemptions() {
		panic("fsm: voucher " + code + " would be redeemed " + itoa(v.Redeemed) + " times of " + itoa(v.GetMaxRedemptions()))
	}
	t.setProto(voucherKey(code), v)
}

// Voucher returns a voucher.
func (f *FSM) Voucher(code string) (*bookdv1.Voucher, error) {
	v := new(bookdv1.Voucher)
	err := f.view(func(r pebble.Reader) error {
		ok, err := getProto(r, voucherKey(code), v)
		if err == nil && !ok {
			return notFound("voucher %s not found", clip(code))
		}
		return err
	})
	return v, err
}

// ListVouchers returns up to limit vouchers by code, after the code after
// ("" for the first page), and the token of the next page.
func (f *FSM) ListVouchers(after string, limit int) ([]*bookdv1.Voucher, string, error) {
	start := prefixVoucher
	if after != "" {
		if err := ValidateVoucherCode("page_token", after); err != nil {
			return nil, "", err
		}
		start = append(voucherKey(after), 0)
	}
	var vouchers []*bookdv1.Voucher
	more, err := f.scan(start, prefixEnd(prefixVoucher), limit, func(_, v []byte) error {
		m := new(bookdv1.Voucher)
		vouchers = append(vouchers, m)
		return proto.Unmarshal(v, m)
	})
	next := ""
	if more {
		next = vouchers[len(vouchers)-1].GetCode()
	}
	return vouchers, next, err
}
