package client

import (
	"context"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Quotas and vouchers. An order itself is a Hold or Book with Items.

// CreateQuota creates a quota that events may share (their quota_ids) and
// returns it. An empty IdempotencyKey is filled in (on a copy).
func (c *Client) CreateQuota(ctx context.Context, req *bookdv1.CreateQuotaRequest) (*bookdv1.Quota, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "CreateQuota", key: key, freshKey: fresh}, req, (*conn).CreateQuota)
	return res.GetQuota(), err
}

// GetQuota returns a quota with the tickets it has taken.
func (c *Client) GetQuota(ctx context.Context, id string, opts ...ReadOption) (*bookdv1.Quota, error) {
	req := &bookdv1.GetQuotaRequest{QuotaId: id, Read: readOptions(opts)}
	res, err := call(ctx, c, op{name: "GetQuota", stale: isStale(req.Read)}, req, (*conn).GetQuota)
	return res.GetQuota(), err
}

// CreateVoucher creates a voucher and returns it. An empty IdempotencyKey
// is filled in (on a copy); a code taken already is refused with
// ReasonVoucherExists.
func (c *Client) CreateVoucher(ctx context.Context, req *bookdv1.CreateVoucherRequest) (*bookdv1.Voucher, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "CreateVoucher", key: key, freshKey: fresh}, req, (*conn).CreateVoucher)
	return res.GetVoucher(), err
}

// GetVoucher returns a voucher with its redemptions.
func (c *Client) GetVoucher(ctx context.Context, code string, opts ...ReadOption) (*bookdv1.Voucher, error) {
	req := &bookdv1.GetVoucherRequest{Code: code, Read: readOptions(opts)}
	res, err := call(ctx, c, op{name: "GetVoucher", stale: isStale(req.Read)}, req, (*conn).GetVoucher)
	return res.GetVoucher(), err
}

// ListVouchers returns one page of vouchers by code; pass the response's
// NextPageToken as PageToken to get the next.
func (c *Client) ListVouchers(ctx context.Context, req *bookdv1.ListVouchersRequest) (*bookdv1.ListVouchersResponse, error) {
	req = orEmpty(req)
	return call(ctx, c, op{name: "ListVouchers", stale: isStale(req.GetRead())}, req, (*conn).ListVouchers)
}
