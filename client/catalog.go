package client

import (
	"context"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// CreateProduct creates a product (a tour, a show) whose departures are
// events, and returns it. An empty IdempotencyKey is filled in (on a copy)
// so that the Client's retries create one product.
func (c *Client) CreateProduct(ctx context.Context, req *bookdv1.CreateProductRequest) (*bookdv1.Product, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "CreateProduct", key: key, freshKey: fresh}, req, (*conn).CreateProduct)
	return res.GetProduct(), err
}

// ListProducts returns one page of products in creation order; pass the
// response's NextPageToken as PageToken to get the next. The consistency of
// the read is req.Read's.
func (c *Client) ListProducts(ctx context.Context, req *bookdv1.ListProductsRequest) (*bookdv1.ListProductsResponse, error) {
	req = orEmpty(req)
	return call(ctx, c, op{name: "ListProducts", stale: isStale(req.GetRead())}, req, (*conn).ListProducts)
}

// CloseEvent stops the sales of an event and returns it: new holds,
// bookings and waitlist entries are refused (ReasonEventClosed), while
// active holds may still be confirmed. An empty IdempotencyKey is filled in
// (on a copy).
func (c *Client) CloseEvent(ctx context.Context, req *bookdv1.CloseEventRequest) (*bookdv1.Event, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "CloseEvent", key: key, freshKey: fresh}, req, (*conn).CloseEvent)
	return res.GetEvent(), err
}

// CancelEvent cancels an event: sales stop, its active holds are released
// and its waitlist is dropped. The response counts the released holds and
// the tickets to refund; ListBookings lists the bookings concerned. An
// empty IdempotencyKey is filled in (on a copy).
func (c *Client) CancelEvent(ctx context.Context, req *bookdv1.CancelEventRequest) (*bookdv1.CancelEventResponse, error) {
	req, key, fresh := withKey(req)
	return call(ctx, c, op{name: "CancelEvent", key: key, freshKey: fresh}, req, (*conn).CancelEvent)
}
