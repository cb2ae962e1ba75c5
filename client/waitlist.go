package client

import (
	"context"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// JoinWaitlist queues a customer for a sold-out event and returns the
// entry. When inventory frees, the first waiting customer whose request fits
// receives a hold (an offer) made by the cluster itself: GetWaitlistEntry
// then reports the entry OFFERED with its HoldId. An event that is not sold
// out refuses with ReasonAvailable. An empty IdempotencyKey is filled in (on
// a copy) so that the Client's retries queue the customer once.
func (c *Client) JoinWaitlist(ctx context.Context, req *bookdv1.JoinWaitlistRequest) (*bookdv1.WaitlistEntry, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "JoinWaitlist", key: key, freshKey: fresh}, req, (*conn).JoinWaitlist)
	return res.GetEntry(), err
}

// LeaveWaitlist takes a waiting customer off the waitlist and returns the
// entry; an entry no longer waiting refuses with ReasonNotWaiting. An empty
// IdempotencyKey is filled in (on a copy).
func (c *Client) LeaveWaitlist(ctx context.Context, req *bookdv1.LeaveWaitlistRequest) (*bookdv1.WaitlistEntry, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "LeaveWaitlist", key: key, freshKey: fresh}, req, (*conn).LeaveWaitlist)
	return res.GetEntry(), err
}

// GetWaitlistEntry returns a waitlist entry (with its offer's HoldId once
// made) and its position in the queue (1 for the first waiting customer, 0
// when not waiting), or a NOT_FOUND error.
func (c *Client) GetWaitlistEntry(ctx context.Context, id string, opts ...ReadOption) (*bookdv1.GetWaitlistEntryResponse, error) {
	req := &bookdv1.GetWaitlistEntryRequest{EntryId: id, Read: readOptions(opts)}
	return call(ctx, c, op{name: "GetWaitlistEntry", stale: isStale(req.Read)}, req, (*conn).GetWaitlistEntry)
}
