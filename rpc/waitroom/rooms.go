package waitroom

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Errors of Rooms.
var (
	// ErrNoRoom: the event has no waiting room; shoppers go straight in.
	ErrNoRoom = errors.New("waitroom: the event has no waiting room")
	// ErrUnknownTicket: the ticket was never issued here or has expired.
	ErrUnknownTicket = errors.New("waitroom: unknown ticket; join the waiting room again")
	// ErrAdmissionRequired: a hold on a gated event came without a token.
	ErrAdmissionRequired = errors.New("waitroom: this event has a waiting room; join it and hold with the admission token it gives")
)

// SoldOutFunc reports whether holds plus bookings cover an event's capacity.
type SoldOutFunc func(ctx context.Context, eventID string) (bool, error)

// Rooms holds the waiting rooms of one process, one per gated event.
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
	rs.rooms[cfg.EventID] = newRoom(cfg, rs.now())
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

// Join gives a new arrival a ticket and returns where it stands.
func (rs *Rooms) Join(ctx context.Context, eventID string) (Status, error) {
	return rs.inRoom(ctx, eventID, func(r *room, now time.Time) (Status, error) {
		t := r.join(now)
		st, _ := r.status(t, now, rs.signer.Sign)
		return st, nil
	})
}

// Status tells where ticket stands in the event's room.
func (rs *Rooms) Status(ctx context.Context, eventID, ticket string) (Status, error) {
	return rs.inRoom(ctx, eventID, func(r *room, now time.Time) (Status, error) {
		r.advance(now)
		st, ok := r.status(ticket, now, rs.signer.Sign)
		if !ok {
			return Status{}, ErrUnknownTicket
		}
		return st, nil
	})
}

// inRoom brings the event's room up to date and runs fn on it, locked.
func (rs *Rooms) inRoom(ctx context.Context, eventID string, fn func(*room, time.Time) (Status, error)) (Status, error) {
	if err := rs.refresh(ctx, eventID); err != nil {
		return Status{}, err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.rooms[eventID]
	if !ok {
		return Status{}, ErrNoRoom
	}
	return fn(r, rs.now())
}

// refresh asks whether the event is sold out and lets the room admit.
func (rs *Rooms) refresh(ctx context.Context, eventID string) error {
	rs.mu.Lock()
	_, ok := rs.rooms[eventID]
	rs.mu.Unlock()
	if !ok {
		return ErrNoRoom
	}
	sold, err := rs.soldOut(ctx, eventID)
	if err != nil {
		return fmt.Errorf("waitroom: is %s sold out: %w", eventID, err)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.rooms[eventID]; ok {
		r.soldOut = sold
		r.advance(rs.now())
	}
	return nil
}

// Gated reports whether the event has a waiting room.
func (rs *Rooms) Gated(eventID string) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	_, ok := rs.rooms[eventID]
	return ok
}

// Check lets a hold on eventID go ahead: nil when the event has no room,
// or token is a valid admission to it. The error is ErrAdmissionRequired
// or one of Verify's.
func (rs *Rooms) Check(eventID, token string) error {
	if !rs.Gated(eventID) {
		return nil
	}
	if token == "" {
		return ErrAdmissionRequired
	}
	_, err := rs.signer.Verify(token, eventID, rs.now())
	return err
}

// Finish frees the place among active shoppers of the token's holder (who
// confirmed or let go); an invalid token is ignored.
func (rs *Rooms) Finish(eventID, token string) {
	a, err := rs.signer.Verify(token, eventID, rs.now())
	if err != nil {
		return
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.rooms[eventID]; ok {
		r.finish(a.Ticket)
	}
}
