package waitroom

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bookd/bookd/fsm"
)

// Errors of Rooms.
var (
	// ErrNoRoom: the event has no waiting room; shoppers go straight in.
	ErrNoRoom = errors.New("waitroom: the event has no waiting room")
	// ErrUnknownTicket: the ticket was never issued here, has been
	// forgotten, or belongs to someone else.
	ErrUnknownTicket = errors.New("waitroom: unknown ticket; join the waiting room again")
	// ErrAdmissionRequired: a hold on a gated event came without a token.
	ErrAdmissionRequired = errors.New("waitroom: this event has a waiting room; join it and hold with the admission token it gives")
	// ErrNoCustomer: Join was called without a customer id, or with one
	// longer than fsm.MaxIDLen.
	ErrNoCustomer = errors.New("waitroom: joining needs a verified customer id")
)

// SoldOutFunc reports whether nothing of an event can be held: holds plus
// bookings cover its capacity, or its sales stopped.
type SoldOutFunc func(ctx context.Context, eventID string) (bool, error)

// Rooms holds the waiting rooms of one process, one per gated event.
//
// A customer id is an identity the caller has verified (a portal token's
// subject, an edge-issued guest session): it holds at most one ticket per
// room, only it can ask about that ticket, and its admission token names it.
type Rooms struct {
	signer  *Signer
	soldOut SoldOutFunc
	now     func() time.Time

	mu    sync.Mutex
	rooms map[string]*room
}

// New returns an empty set of rooms that signs with signer and asks soldOut
// (which should be cheap, e.g. answered from a cache) before admitting.
func New(signer *Signer, soldOut SoldOutFunc) *Rooms {
	return &Rooms{signer: signer, soldOut: soldOut, now: time.Now, rooms: make(map[string]*room)}
}

// Signer is the signer the rooms sign admission tokens with.
func (rs *Rooms) Signer() *Signer { return rs.signer }

// Configure creates the event's room or changes its settings; people
// already waiting keep their place.
func (rs *Rooms) Configure(cfg Config) error {
	if err := cfg.check(); err != nil {
		return fmt.Errorf("waitroom: %w", err)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.rooms[cfg.EventID]; ok {
		r.reconfigure(cfg)
		return nil
	}
	rs.rooms[cfg.EventID] = newRoom(cfg, rs.now(), rs.signer.Sign)
	return nil
}

// Remove drops the event's room: its event is no longer gated.
func (rs *Rooms) Remove(eventID string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	delete(rs.rooms, eventID)
}

// Config returns the event's room settings, or ErrNoRoom.
func (rs *Rooms) Config(eventID string) (Config, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.rooms[eventID]
	if !ok {
		return Config{}, ErrNoRoom
	}
	return r.cfg, nil
}

// Gated reports whether the event has a waiting room.
func (rs *Rooms) Gated(eventID string) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	_, ok := rs.rooms[eventID]
	return ok
}

// Join returns customerID's ticket in the event's room and where it
// stands, giving it a ticket if it has none. Joining again returns the
// same ticket, in the same place, and counts as a status poll.
func (rs *Rooms) Join(ctx context.Context, eventID, customerID string) (Status, error) {
	if customerID == "" || len(customerID) > fsm.MaxIDLen {
		return Status{}, ErrNoCustomer
	}
	return rs.inRoom(ctx, eventID, func(r *room, now time.Time) (Status, error) {
		return r.status(r.join(customerID, now)), nil
	})
}

// Status tells where ticket stands in the event's room. It is a poll that
// keeps the ticket (see Config.TicketTimeout and Config.IdleFor). A ticket
// asked about by anyone but its customer is ErrUnknownTicket, like one that
// does not exist.
func (rs *Rooms) Status(ctx context.Context, eventID, ticket, customerID string) (Status, error) {
	return rs.inRoom(ctx, eventID, func(r *room, now time.Time) (Status, error) {
		e := r.lookup(ticket, customerID)
		if e == nil {
			return Status{}, ErrUnknownTicket
		}
		r.touch(e, now)
		return r.status(e), nil
	})
}

// inRoom asks whether the event is sold out, brings its room up to date
// and runs fn on it, locked.
func (rs *Rooms) inRoom(ctx context.Context, eventID string, fn func(*room, time.Time) (Status, error)) (Status, error) {
	if !rs.Gated(eventID) {
		return Status{}, ErrNoRoom
	}
	sold, err := rs.soldOut(ctx, eventID)
	if err != nil {
		return Status{}, fmt.Errorf("waitroom: is %s sold out: %w", eventID, err)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.rooms[eventID]
	if !ok {
		return Status{}, ErrNoRoom
	}
	now := rs.now()
	r.soldOut = sold
	r.advance(now)
	return fn(r, now)
}

// Check lets a hold on eventID for customerID go ahead: nil when the event
// has no room, or token is a valid admission to it for customerID. The
// error is ErrAdmissionRequired or one of Verify's. A valid check is
// activity of the customer (see Touch).
//
// Check does not count what the token has admitted: the state machine
// spends the token in the hold's own commit.
func (rs *Rooms) Check(eventID, customerID, token string) error {
	if !rs.Gated(eventID) {
		return nil
	}
	if token == "" {
		return ErrAdmissionRequired
	}
	if _, err := rs.signer.Verify(token, eventID, customerID, rs.now()); err != nil {
		return err
	}
	rs.Touch(eventID, customerID)
	return nil
}

// Touch records activity of customerID in the event's room (beyond status
// polls and Check, which count by themselves): an admitted shopper keeps
// its place for Config.IdleFor after its last activity. It does nothing
// for a customer with no ticket.
func (rs *Rooms) Touch(eventID, customerID string) {
	rs.withRoom(eventID, func(r *room, now time.Time) {
		if e := r.byCustomer[customerID]; e != nil {
			r.touch(e, now)
		}
	})
}

// Finish tells the room that customerID confirmed or let go of its hold:
// its place among the active shoppers is freed at once, and the next in
// line is admitted on the next poll (admission credit piles up, to a
// second's worth, while the room is full; only a room that admitted
// someone less than 1/Rate ago makes it wait for the rate). Its ticket
// stays done (StateDone) until its admission would have run out, so
// joining again does not admit it again meanwhile. It does nothing unless
// customerID's ticket is admitted.
func (rs *Rooms) Finish(eventID, customerID string) {
	rs.withRoom(eventID, func(r *room, now time.Time) { r.finish(customerID) })
}

// withRoom forgets what expired in the event's room, if it has one, and
// runs fn on it, locked. It admits no one: that waits for a poll, which
// asks whether the event is sold out.
func (rs *Rooms) withRoom(eventID string, fn func(*room, time.Time)) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.rooms[eventID]
	if !ok {
		return
	}
	now := rs.now()
	r.expire(now)
	fn(r, now)
}
