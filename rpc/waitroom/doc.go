// Package waitroom is a waiting room for hot events: it admits shoppers to
// an event at a rate the operator sets, with a cap on how many shop at once.
//
// # Tickets belong to someone
//
// Every call acts for one customer id the edge has verified (a portal
// token's subject or an edge-issued guest session). A customer holds at
// most one ticket per room: joining again returns the same ticket in the
// same place, so posting join in a loop buys nothing. A ticket answers only
// to its customer; to anyone else it is unknown, like a ticket that never
// existed. Tickets are also 128 random bits, so they cannot be guessed.
//
// # The queue
//
// People who arrive before the on-sale time wait in a pre-queue that is
// shuffled into a random order at on-sale time, so arriving early (or being
// a bot that hammers the page) buys nothing over arriving a minute before;
// later arrivals queue first come, first served. A waiting ticket learns its
// position and an estimate of its wait.
//
// # Admission
//
// When a ticket's turn comes its customer gets an admission token: an
// fsm.AdmissionGrant (event, ticket, customer, how many holds of how many
// tickets, expiry) signed with HMAC-SHA256 by a secret the edges share (see
// Signer). The edge checks the signature and that the token names the
// event and the caller (Rooms.Check); the state machine checks the grant
// again against the hold and spends it in the hold's own Raft commit, so
// one token places no more than HoldsPerAdmission holds of no more than
// TicketsPerAdmission tickets, for its own customer, whichever edges and
// nodes it is sent through.
//
// # Places are freed promptly
//
// An admitted shopper counts against MaxActive until the first of:
//   - it confirms or lets go of its hold (Rooms.Finish): its ticket turns
//     done; it shows state "done", with no token, and joining again returns
//     that same done ticket, until its admission would have run out
//     (AdmitFor after admission); then the room forgets it and joining again
//     is a new arrival at the back of the queue;
//   - it shows no activity (status poll, Check, Touch, joining again) for
//     IdleFor: its ticket is forgotten (its token still lasts until it
//     expires, and the state machine still bounds what it spends);
//   - its admission runs out (AdmitFor): its ticket is forgotten.
//
// A waiting ticket (pre-queue or queue) that is not polled for
// TicketTimeout is dropped, and those behind it move up. So what an
// anonymous caller can make a room remember is bounded by the rate at
// which it may get identities and call join, times TicketTimeout.
//
// The room is brought up to date whenever someone polls or joins, with
// work proportional to what changed: admissions and time-outs pop from the
// front of lists kept in order, and a position is counted in O(log n), so a
// queue of 100,000 costs each poll about what an empty one does.
//
// # Stock
//
// Unlike a waiting room in front of a shop that knows nothing of its
// stock, a Room asks whether the event is sold out (holds plus bookings
// cover the capacity) before admitting anyone: while it is, the room admits
// no one and tells everyone waiting that the event is sold out (they keep
// their place as long as they poll); if holds expire and inventory comes
// back, admission resumes.
//
// A Room lives in one process. Several edges each run their own rooms; the
// operator gives each edge its share of an event's admission rate and cap,
// and tokens from any of them are valid everywhere. One customer may wait
// at several edges at once; each admission it gets there is bounded by the
// state machine like any other.
package waitroom
