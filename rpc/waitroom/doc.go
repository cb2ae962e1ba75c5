// Package waitroom is a waiting room for hot events: it admits shoppers to
// an event at a rate the operator sets, with a cap on how many shop at once.
//
// People who arrive before the on-sale time wait in a pre-queue that is
// shuffled into a random order at on-sale time, so arriving early (or being
// a bot that hammers the page) buys nothing over arriving a minute before;
// later arrivals queue first come, first served. Each waiting person holds
// an unguessable ticket and can ask for their position and an estimate of
// their wait. When their turn comes they get an admission token, an
// HMAC-signed statement "ticket T may shop event E until time X", which any
// edge or node that knows the shared secret verifies without asking anyone
// (see Signer).
//
// Unlike a waiting room in front of a shop that knows nothing of its
// stock, a Room asks whether the event is sold out (holds plus bookings
// cover the capacity) before admitting anyone: while it is, the room admits
// no one and tells everyone waiting that the event is sold out; if holds
// expire and inventory comes back, admission resumes.
//
// A Room lives in one process. Several edges each run their own rooms; the
// operator gives each edge its share of an event's admission rate and cap,
// and tokens from any of them are valid everywhere.
package waitroom
