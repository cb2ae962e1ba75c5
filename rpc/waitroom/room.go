package waitroom

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"time"

	"github.com/bookd/bookd/fsm"
)

// entry is one identity's ticket in a room.
type entry struct {
	ticket   string
	customer string
	state    State // pre_queue, waiting, admitted or done
	seen     time.Time
	// admitted and done: when the admission runs out, and (admitted) the
	// token that states it.
	until time.Time
	token string

	slot int           // pre_queue: index in room.pre; waiting: in room.line
	elem *list.Element // pre_queue and waiting: in room.waiters; admitted: in room.shoppers
	end  int           // admitted and done: index in room.ends
}

// room is one event's queue. Its owner (Rooms) serializes calls. Every
// step costs O(log n) or amortized O(1) in the tickets it holds, apart from
// the draw of the pre-queue at on-sale time.
type room struct {
	cfg  Config
	sign func(*fsm.AdmissionGrant) string

	byTicket   map[string]*entry
	byCustomer map[string]*entry

	pre      []*entry  // pre_queue, in no useful order (it is shuffled)
	drawn    bool      // the pre-queue has been drawn into the line
	line     line      // waiting, in admission order
	waiters  list.List // pre_queue and waiting, least recently seen first
	shoppers list.List // admitted, least recently seen first
	ends     ends      // admitted and done, by admission end

	credit  float64
	last    time.Time
	soldOut bool
}

func newRoom(cfg Config, now time.Time, sign func(*fsm.AdmissionGrant) string) *room {
	// One admission is ready at once: the first to come to an empty room
	// (or to be drawn at on-sale time) goes straight in.
	return &room{cfg: cfg, sign: sign, byTicket: make(map[string]*entry),
		byCustomer: make(map[string]*entry), last: now, credit: 1}
}

// reconfigure changes the settings, keeping everyone's place. Admissions
// already given keep what their tokens state.
func (r *room) reconfigure(cfg Config) { r.cfg = cfg }

// join returns customer's ticket, giving it one if it has none; the room
// has been advanced to now.
func (r *room) join(customer string, now time.Time) *entry {
	if e := r.byCustomer[customer]; e != nil {
		r.touch(e, now)
		return e
	}
	e := &entry{ticket: newTicket(), customer: customer, seen: now}
	r.byTicket[e.ticket] = e
	r.byCustomer[customer] = e
	e.elem = r.waiters.PushBack(e)
	if !r.drawn {
		e.state, e.slot = StatePreQueue, len(r.pre)
		r.pre = append(r.pre, e)
		return e
	}
	e.state = StateWaiting
	r.line.push(e)
	r.advance(now) // an idle room admits at once
	return e
}

// lookup returns ticket's entry if it belongs to customer, or nil.
func (r *room) lookup(ticket, customer string) *entry {
	if e := r.byTicket[ticket]; e != nil && e.customer == customer {
		return e
	}
	return nil
}

// touch records activity of e's identity at now.
func (r *room) touch(e *entry, now time.Time) {
	switch e.state {
	case StatePreQueue, StateWaiting:
		e.seen = now
		r.waiters.MoveToBack(e.elem)
	case StateAdmitted:
		e.seen = now
		r.shoppers.MoveToBack(e.elem)
	}
}

// finish frees the place of customer's admitted ticket, which stays done
// until its admission would have run out. Other tickets are left as they
// are.
func (r *room) finish(customer string) {
	e := r.byCustomer[customer]
	if e == nil || e.state != StateAdmitted {
		return
	}
	r.shoppers.Remove(e.elem)
	e.state, e.elem, e.token = StateDone, nil, ""
}

// forget drops e from the room.
func (r *room) forget(e *entry) {
	delete(r.byTicket, e.ticket)
	delete(r.byCustomer, e.customer)
	switch e.state {
	case StatePreQueue:
		last := r.pre[len(r.pre)-1]
		r.pre[e.slot], last.slot = last, e.slot
		r.pre[len(r.pre)-1] = nil
		r.pre = r.pre[:len(r.pre)-1]
		r.waiters.Remove(e.elem)
	case StateWaiting:
		r.line.remove(e)
		r.waiters.Remove(e.elem)
	case StateAdmitted:
		r.shoppers.Remove(e.elem)
		r.ends.drop(e)
	case StateDone:
		r.ends.drop(e)
	}
	e.elem = nil
}

// expire forgets, as of now, the admissions that ran out, the admitted
// shoppers idle for IdleFor and the waiting tickets not polled for
// TicketTimeout. It looks only at the ones it forgets and one more of
// each kind.
func (r *room) expire(now time.Time) {
	for e := r.ends.first(); e != nil && !now.Before(e.until); e = r.ends.first() {
		r.forget(e)
	}
	for el := r.shoppers.Front(); el != nil; el = r.shoppers.Front() {
		e := el.Value.(*entry)
		if now.Before(e.seen.Add(r.cfg.IdleFor)) {
			break
		}
		r.forget(e)
	}
	for el := r.waiters.Front(); el != nil; el = r.waiters.Front() {
		e := el.Value.(*entry)
		if now.Before(e.seen.Add(r.cfg.TicketTimeout)) {
			break
		}
		r.forget(e)
	}
}

// advance brings the room to now: forgets what expired, draws the
// pre-queue at on-sale time and admits as many as rate, cap and stock
// allow.
func (r *room) advance(now time.Time) {
	r.expire(now)
	if !r.drawn && !now.Before(r.cfg.OnSale) {
		r.draw()
	}
	if !r.drawn {
		return
	}
	if now.After(r.last) {
		// Admission credit accrues at rate. While people wait and can be
		// let in it all counts (the room is only looked at when someone
		// asks, and they would have been admitted in between); otherwise
		// no more than a second's worth piles up, so an idle, sold-out or
		// full room does not let a crowd in at once later, but a place
		// freed in a full room is taken at once.
		r.credit += now.Sub(r.last).Seconds() * r.cfg.Rate
		if r.line.len() == 0 || r.soldOut || r.full() {
			r.credit = min(r.credit, max(1, r.cfg.Rate))
		}
		r.last = now
	}
	for r.credit >= 1 && r.line.len() > 0 && !r.soldOut && !r.full() {
		r.admit(r.line.front(), now)
		r.credit--
	}
}

// draw shuffles the pre-queue into the line, at on-sale time.
func (r *room) draw() {
	r.drawn = true
	mrand.Shuffle(len(r.pre), func(i, j int) { r.pre[i], r.pre[j] = r.pre[j], r.pre[i] })
	for _, e := range r.pre {
		e.state = StateWaiting
		r.line.push(e)
	}
	r.pre = nil
	if r.last.Before(r.cfg.OnSale) {
		r.last = r.cfg.OnSale
	}
}

// admit lets e, the next in line, shop from now, and signs its token.
func (r *room) admit(e *entry, now time.Time) {
	r.line.remove(e)
	r.waiters.Remove(e.elem)
	// The token states milliseconds: the room's end is the token's.
	e.until = time.UnixMilli(now.Add(r.cfg.AdmitFor).UnixMilli())
	e.state, e.seen = StateAdmitted, now
	e.elem = r.shoppers.PushBack(e)
	r.ends.add(e)
	e.token = r.sign(&fsm.AdmissionGrant{
		EventId:       r.cfg.EventID,
		Ticket:        e.ticket,
		CustomerId:    e.customer,
		MaxHolds:      int64(r.cfg.HoldsPerAdmission),
		MaxTickets:    int64(r.cfg.TicketsPerAdmission),
		ExpiresUnixMs: e.until.UnixMilli(),
	})
}

// full reports whether the cap on active shoppers is reached.
func (r *room) full() bool { return r.cfg.MaxActive > 0 && r.shoppers.Len() >= r.cfg.MaxActive }

// status reports where e stands.
func (r *room) status(e *entry) Status {
	st := Status{EventID: r.cfg.EventID, Ticket: e.ticket}
	if !r.cfg.OnSale.IsZero() {
		onSale := r.cfg.OnSale
		st.OnSale = &onSale
	}
	switch {
	case e.state == StateAdmitted:
		until := e.until
		st.State, st.Token, st.AdmittedUntil = StateAdmitted, e.token, &until
	case e.state == StateDone:
		until := e.until
		st.State, st.AdmittedUntil = StateDone, &until
	case r.soldOut:
		st.State = StateSoldOut
	case e.state == StatePreQueue:
		st.State, st.PreQueue = StatePreQueue, len(r.pre)
	default:
		st.State = StateWaiting
		st.Position = r.line.position(e)
		st.EstimatedWaitMs = int64(float64(st.Position) / r.cfg.Rate * 1000)
	}
	return st
}

// newTicket returns 128 random bits: a ticket cannot be guessed.
func newTicket() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
