package rpc

import (
	"context"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Quotas and vouchers: the limits of orders that are inventory themselves.

func (h *BookingHandler) CreateQuota(ctx context.Context, req *bookdv1.CreateQuotaRequest) (*bookdv1.CreateQuotaResponse, error) {
	if err := check(fsm.ValidateCreateQuota(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_CreateQuota{CreateQuota: req}},
		func(ctx context.Context, p *peer) (*bookdv1.CreateQuotaResponse, error) {
			return p.booking.CreateQuota(ctx, req)
		})
}

func (h *BookingHandler) GetQuota(ctx context.Context, req *bookdv1.GetQuotaRequest) (*bookdv1.GetQuotaResponse, error) {
	if err := check(fsm.ValidateQuotaID("quota_id", req.GetQuotaId())); err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.GetQuotaResponse, error) {
			q, err := h.s.node.FSM().Quota(req.GetQuotaId())
			return &bookdv1.GetQuotaResponse{Quota: q}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.GetQuotaResponse, error) {
			return p.booking.GetQuota(ctx, req)
		})
}

func (h *BookingHandler) CreateVoucher(ctx context.Context, req *bookdv1.CreateVoucherRequest) (*bookdv1.CreateVoucherResponse, error) {
	if err := check(fsm.ValidateCreateVoucher(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_CreateVoucher{CreateVoucher: req}},
		func(ctx context.Context, p *peer) (*bookdv1.CreateVoucherResponse, error) {
			return p.booking.CreateVoucher(ctx, req)
		})
}

func (h *BookingHandler) GetVoucher(ctx context.Context, req *bookdv1.GetVoucherRequest) (*bookdv1.GetVoucherResponse, error) {
	if err := check(fsm.ValidateVoucherCode("code", req.GetCode())); err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.GetVoucherResponse, error) {
			v, err := h.s.node.FSM().Voucher(req.GetCode())
			return &bookdv1.GetVoucherResponse{Voucher: v}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.GetVoucherResponse, error) {
			return p.booking.GetVoucher(ctx, req)
		})
}

func (h *BookingHandler) ListVouchers(ctx context.Context, req *bookdv1.ListVouchersRequest) (*bookdv1.ListVouchersResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.ListVouchersResponse, error) {
			vouchers, next, err := h.s.node.FSM().ListVouchers(req.GetPageToken(), size)
			return &bookdv1.ListVouchersResponse{Vouchers: vouchers, NextPageToken: next}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.ListVouchersResponse, error) {
			return p.booking.ListVouchers(ctx, req)
		})
}
