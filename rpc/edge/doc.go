// Package edge is bookd's stateless frontend: the process `bookd edge` runs,
// any number of copies of it, in front of a cluster.
//
// An edge serves the web booking page (package web, embedded in the binary)
// and answers the customer-facing calls of bookd.v1.BookingService (events
// and their filters, products, availability, holds and their extension,
// confirmations, bookings, the waitlist) by forwarding them to the
// cluster through the client package. It keeps no booking state: every
// claim on inventory is decided by the cluster's Raft log, so two edges can
// never sell the same seat and killing an edge loses nothing.
//
// What an edge adds in front of the cluster:
//   - an availability and event cache with a bounded staleness, with
//     concurrent misses collapsed into one call, so a surge of page views
//     does not reach the Raft leader;
//   - per-client and per-event rate limits that refuse excess calls at once
//     with RESOURCE_EXHAUSTED and a retry-after hint (client.RetryAfter);
//   - an optional waiting room per hot event (package waitroom): holds on a
//     gated event need an admission token the room signed;
//   - orders (holds of items on several events) pass each of their events'
//     room, limit and cache (orders.go);
//   - voucher codes refused in one answer that does not say whether a code
//     exists, and a limit on the codes one client may have refused
//     (vouchers.go).
//
// Operator calls (CreateEvent, ListBookings, BatchWrite, CancelBooking,
// Book, ...) are not served here; they answer PERMISSION_DENIED and belong
// to the nodes. Calls the proxy does not implement (quotas, vouchers, any
// a newer API adds) answer UNIMPLEMENTED.
package edge
