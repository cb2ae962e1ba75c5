// Package fsm owns bookd's replicated state: the encoding of Raft log
// commands, the business rules that apply them, the Pebble key layout that
// stores the result (keys.go; seats in chunks, seats.go; the idempotency
// age index, idemage.go; its version, m/layout, store.go), and snapshots
// of it.
//
// The state machine is a pure function of the log. It never reads a local
// clock or a random source and never iterates a Go map: time comes from the
// leader's stamp on each command (never running backwards), and identifiers
// are derived from the Raft index that introduced them. A whole Raft batch is
// applied in one Pebble batch together with the applied index, so a restart
// resumes exactly where the stored state ends and re-applies nothing twice.
// What the FSM keeps in memory (decoded events and counters in cache.go, hot
// events' seats in seatindex.go, a filter of idempotency keys in
// keyfilter.go) changes only where a read is served from, never its answer;
// each batch is committed in key order (commit.go).
//
// Rules of the domain:
//   - A hold claims GA tickets or named seats all or nothing; an order's
//     hold (or Book) claims several items on several events the same way,
//     each item taken in turn and all given back by the same moves if one
//     is refused (orders.go). It counts while
//     the state machine's time is before its expires_at; every command first
//     expires the holds that are due, so expiry needs no timer to be correct.
//   - Confirm turns an active hold into a booking; ReleaseHold and expiry give
//     the inventory back; CancelBooking gives a booking's inventory back.
//   - Events are a product's departures, on sale until closed or cancelled;
//     their seats come from a seat map (seatmap.go) or labels, and
//     best-available claims choose seats from it.
//   - An event may limit tickets per hold and per customer (live holds plus
//     bookings, counted under t/); ExtendHold moves an expiry up to a cap.
//   - Limits that are inventory themselves move in the claim's commit: a
//     category's capacity and its price tiers, sold in order and given
//     back to on release (pricing.go); quotas shared by events
//     (quotas.go); a voucher's redemptions (vouchers.go). Prices are fixed
//     on the hold when it is placed; a booking keeps them, and cancelling
//     some of its items reports what they give back.
//   - Whenever inventory frees, the event's waitlist is served first come,
//     first fit, with holds of their own (waitlist.go).
//   - A mutation with an idempotency key stores its outcome under the key in
//     the same batch as its effect; a retry with the same key and request gets
//     that outcome again, the same key with another request is refused. Purge
//     forgets records older than 24 hours, and old change-feed records.
//   - Every change is recorded in the change feed, numbered by Raft index and
//     position, in commit order.
//   - A work queue takes the changes of the kinds it names: each becomes a
//     message in the same batch as the change (queues.go). Receive leases
//     due messages by the state machine's time, Ack removes them, Nack and
//     a lapsed lease make them due again after a backoff, and max_attempts
//     deliveries move them to the dead letters (queuemsgs.go).
package fsm
