// Package fsm owns bookd's replicated state: the encoding of Raft log
// commands, the business rules that apply them, the Pebble key layout that
// stores the result, and snapshots of it.
//
// The state machine is a pure function of the log. It never reads a local
// clock or a random source and never iterates a Go map: time comes from the
// leader's stamp on each command (never running backwards), and identifiers
// are derived from the Raft index that introduced them. A whole Raft batch is
// applied in one Pebble batch together with the applied index, so a restart
// resumes exactly where the stored state ends and re-applies nothing twice.
//
// Rules of the domain:
//   - A hold claims GA tickets or named seats all or nothing. It counts while
//     the state machine's time is before its expires_at; every command first
//     expires the holds that are due, so expiry needs no timer to be correct.
//   - Confirm turns an active hold into a booking; ReleaseHold and expiry give
//     the inventory back; CancelBooking gives a booking's inventory back.
//   - A mutation with an idempotency key stores its outcome under the key in
//     the same batch as its effect; a retry with the same key and request gets
//     that outcome again, the same key with another request is refused.
package fsm
