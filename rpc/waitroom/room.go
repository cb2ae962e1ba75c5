package waitroom

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"
)

// Config sets up the waiting room of one event.
type Config struct {
	EventID string `json:"event_id"`
	// OnSale is when admission starts. People who arrive before it are
	// shuffled into a random order at it; zero means on sale now.
	OnSale time.Time `json:"on_sale"`
	// Rate is how many people a second are admitted (> 0).
	Rate float64 `json:"rate"`
	// MaxActive caps how many admitted people shop at once (0: no cap). An
	// admission counts until it expires or its shopper confirms or lets go.
	MaxActive int `json:"max_active"`
	// AdmitFor is how long an admission token lasts (default 10 minutes).
	AdmitFor time.Duration `json:"admit_for"`
}

// DefaultAdmitFor is how long an admission lasts unless Config says.
const DefaultAdmitFor = 10 * time.Minute

func (c *Config) check() error {
	switch {
	case c.EventID == "":
		return errors.New("event_id: required")
	case !(c.Rate > 0) || c.Rate > 1e6:
		return fmt.Errorf("rate: %v is not between 0 (exclusive) and 1,000,000 admissions a second", c.Rate)
	case c.MaxActive < 0:
		return fmt.Errorf("max_active: %d is negative", c.MaxActive)
	case c.AdmitFor < 0:
		return fmt.Errorf("admit_for: %v is negative", c.AdmitFor)
	}
	if c.AdmitFor == 0 {
		c.AdmitFor = DefaultAdmitFor
	}
	return nil
}

// State is where a ticket stands.
type State string

// States of a ticket.
const (
	// StatePreQueue: waiting for the on-sale time, position not yet drawn.
	StatePreQueue State = "pre_queue"
	// StateWaiting: in the queue at Position.
	StateWaiting State = "waiting"
	// StateAdmitted: may shop; Token proves it.
	StateAdmitted State = "admitted"
	// StateSoldOut: holds and bookings cover the event; no one is admitted.
	StateSoldOut State = "sold_out"
)

// Status is what a waiting person (or API client) is told.
type Status struct {
	EventID string `json:"event_id"`
	Ticket  string `json:"ticket"`
	State   State  `json:"state"`
	// Position in the queue, 1 being next; 0 unless waiting.
	Position int `json:"position,omitempty"`
	// EstimatedWaitMs estimates the wait from Position and the rate.
	EstimatedWaitMs int64 `json:"estimated_wait_ms,omitempty"`
	// PreQueue is how many wait for the on-sale time (pre_queue only).
	PreQueue int `json:"pre_queue,omitempty"`
	// OnSale is when admission starts, if the room has an on-sale time.
	OnSale *time.Time `json:"on_sale,omitempty"`
	// Token and AdmittedUntil are set once admitted.
	Token         string     `json:"token,omitempty"`
	AdmittedUntil *time.Time `json:"admitted_until,omitempty"`
}

// room is one event's queue. Its owner (Rooms) serializes calls.
type room struct {
	cfg      Config
	pre      []string // arrived before on-sale, in arrival order
	shuffled bool     // pre has been drawn into queue
	queue    []string // admission order
	head     int      // queue[head] is next
	index    map[string]int
	admitted map[string]time.Time // ticket -> admission expiry
	done     map[string]bool      // admitted tickets that finished early
	credit   float64
	last     time.Time
	soldOut  bool
}

func newRoom(cfg Config, now time.Time) *room {
	// One admission is ready at once: the first to come to an empty room
	// (or to be drawn at on-sale time) goes straight in.
	return &room{cfg: cfg, index: make(map[string]int), admitted: make(map[string]time.Time),
		done: make(map[string]bool), last: now, credit: 1}
}

// reconfigure changes rate, cap and on-sale time, keeping everyone's place.
func (r *room) reconfigure(cfg Config) { r.cfg = cfg }

// join adds a new ticket.
func (r *room) join(now time.Time) string {
	r.advance(now)
	t := newTicket()
	if !r.shuffled && now.Before(r.cfg.OnSale) {
		r.pre = append(r.pre, t)
		r.index[t] = -1
		return t
	}
	r.index[t] = len(r.queue)
	r.queue = append(r.queue, t)
	r.advance(now) // an idle room admits at once
	return t
}

// advance brings the room to now: draws the pre-queue at on-sale time,
// forgets finished admissions and admits as many as rate, cap and stock
// allow.
func (r *room) advance(now time.Time) {
	if !r.shuffled && !now.Before(r.cfg.OnSale) {
		r.shuffled = true
		mrand.Shuffle(len(r.pre), func(i, j int) { r.pre[i], r.pre[j] = r.pre[j], r.pre[i] })
		// Late arrivals who joined before the draw (none, since join
		// advances first) would keep their order behind the draw.
		drawn := append(r.pre, r.queue[r.head:]...)
		r.queue = append(r.queue[:r.head], drawn...)
		for i := r.head; i < len(r.queue); i++ {
			r.index[r.queue[i]] = i
		}
		r.pre = nil
		if r.last.Before(r.cfg.OnSale) {
			r.last = r.cfg.OnSale
		}
	}
	for t, until := range r.admitted {
		if !now.Before(until) {
			delete(r.admitted, t)
			delete(r.done, t)
		}
	}
	if !r.shuffled {
		return
	}
	if now.After(r.last) {
		// Admission credit accrues at rate. While people wait and can be
		// let in it all counts (the room is only looked at when someone
		// asks, and they would have been admitted in between); otherwise
		// no more than a second's worth piles up, so an idle, sold-out or
		// full room does not let a crowd in at once later.
		r.credit += now.Sub(r.last).Seconds() * r.cfg.Rate
		if r.head == len(r.queue) || r.soldOut || r.full() {
			r.credit = min(r.credit, max(1, r.cfg.Rate))
		}
		r.last = now
	}
	for r.credit >= 1 && r.head < len(r.queue) && !r.soldOut && !r.full() {
		t := r.queue[r.head]
		r.queue[r.head] = ""
		r.head++
		delete(r.index, t)
		r.admitted[t] = now.Add(r.cfg.AdmitFor)
		r.credit--
	}
	if r.head > 1024 && r.head > len(r.queue)/2 { // compact
		r.queue = append([]string(nil), r.queue[r.head:]...)
		r.head = 0
		for i, t := range r.queue {
			r.index[t] = i
		}
	}
}

func (r *room) active() int { return len(r.admitted) - len(r.done) }

// full reports whether the cap on active shoppers is reached.
func (r *room) full() bool { return r.cfg.MaxActive > 0 && r.active() >= r.cfg.MaxActive }

// finish frees ticket's place among the active shoppers.
func (r *room) finish(ticket string) {
	if _, ok := r.admitted[ticket]; ok {
		r.done[ticket] = true
	}
}

// status reports where ticket stands; ok is false for an unknown ticket.
func (r *room) status(ticket string, now time.Time, sign func(Admission) string) (Status, bool) {
	st := Status{EventID: r.cfg.EventID, Ticket: ticket}
	if !r.cfg.OnSale.IsZero() {
		onSale := r.cfg.OnSale
		st.OnSale = &onSale
	}
	if until, ok := r.admitted[ticket]; ok {
		st.State = StateAdmitted
		st.Token = sign(Admission{EventID: r.cfg.EventID, Ticket: ticket, Expires: until})
		st.AdmittedUntil = &until
		return st, true
	}
	i, ok := r.index[ticket]
	switch {
	case !ok:
		return st, false
	case r.soldOut:
		st.State = StateSoldOut
	case i < 0:
		st.State, st.PreQueue = StatePreQueue, len(r.pre)
	default:
		st.State = StateWaiting
		st.Position = i - r.head + 1
		st.EstimatedWaitMs = int64(float64(st.Position) / r.cfg.Rate * 1000)
	}
	return st, true
}

// newTicket returns 128 random bits: a ticket cannot be guessed, so no one
// can read another's status (and token).
func newTicket() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
