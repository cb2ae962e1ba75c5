package history

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// noExpiry marks a hold whose expiry the history does not tell (it was
// created by an operation with an unknown outcome): it may expire at any
// moment.
const noExpiry = math.MaxInt64

type hold struct {
	id      string
	qty     int64
	expires int64 // Unix ns, or noExpiry
}

type booking struct {
	id  string
	qty int64
}

// state is one possible state of a counter. States are values: every
// transition copies what it changes.
type state struct {
	capacity  int64
	clock     int64             // lower bound of the state machine's clock
	holds     []hold            // active holds, by expiry then id
	bookings  []booking         // active bookings, by id
	ended     map[string]string // holds no longer active: id → reason a confirm would get
	cancelled map[string]bool   // cancelled bookings
}

func (s *state) clone() *state {
	c := *s
	c.holds = slices.Clone(s.holds)
	c.bookings = slices.Clone(s.bookings)
	c.ended = make(map[string]string, len(s.ended)+1)
	for k, v := range s.ended {
		c.ended[k] = v
	}
	c.cancelled = make(map[string]bool, len(s.cancelled)+1)
	for k, v := range s.cancelled {
		c.cancelled[k] = v
	}
	return &c
}

func (s *state) available() int64 {
	n := s.capacity
	for _, h := range s.holds {
		n -= h.qty
	}
	for _, b := range s.bookings {
		n -= b.qty
	}
	return n
}

func (s *state) hold(id string) (int, bool) {
	for i, h := range s.holds {
		if h.id == id {
			return i, true
		}
	}
	return -1, false
}

// expireThrough moves the clock to at least t and expires every hold due by
// then (known expiry ≤ t), as the state machine does before each command.
func (s *state) expireThrough(t int64) *state {
	c := s.clone()
	c.clock = max(c.clock, t)
	kept := c.holds[:0]
	for _, h := range c.holds {
		if h.expires != noExpiry && h.expires <= c.clock {
			c.ended[h.id] = ReasonExpired
			continue
		}
		kept = append(kept, h)
	}
	c.holds = kept
	return c
}

// nextExpiry is the earliest known expiry among active holds.
func (s *state) nextExpiry() (int64, bool) {
	for _, h := range s.holds {
		if h.expires != noExpiry {
			return h.expires, true
		}
	}
	return 0, false
}

// freeUp expires holds in expiry order, no later than hi, until at least qty
// places are available; ok is false when that is impossible.
func (s *state) freeUp(qty, hi int64) (*state, bool) {
	for s.available() < qty {
		e, ok := s.nextExpiry()
		if !ok || e > hi {
			return s, false
		}
		s = s.expireThrough(e)
	}
	return s, true
}

func (s *state) addHold(h hold) {
	s.holds = append(s.holds, h)
	slices.SortFunc(s.holds, func(a, b hold) int {
		if a.expires != b.expires {
			if a.expires < b.expires {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
}

func (s *state) endHold(i int, reason string) {
	s.ended[s.holds[i].id] = reason
	s.holds = slices.Delete(s.holds, i, i+1)
}

func (s *state) addBooking(b booking) {
	s.bookings = append(s.bookings, b)
	slices.SortFunc(s.bookings, func(a, b booking) int { return strings.Compare(a.id, b.id) })
}

// unknownHoldsExpired returns s with every subset of its holds of unknown
// expiry expired: those may have expired at any moment.
func (s *state) unknownHoldsExpired() []*state {
	out := []*state{s}
	for _, h := range s.holds {
		if h.expires != noExpiry {
			continue
		}
		for _, o := range slices.Clone(out) {
			c := o.clone()
			if i, ok := c.hold(h.id); ok {
				c.endHold(i, ReasonExpired)
				out = append(out, c)
			}
		}
	}
	return out
}

func equalStates(a, b *state) bool {
	if a.capacity != b.capacity || a.clock != b.clock || !slices.Equal(a.holds, b.holds) ||
		!slices.Equal(a.bookings, b.bookings) || len(a.ended) != len(b.ended) || len(a.cancelled) != len(b.cancelled) {
		return false
	}
	for k, v := range a.ended {
		if b.ended[k] != v {
			return false
		}
	}
	for k := range a.cancelled {
		if !b.cancelled[k] {
			return false
		}
	}
	return true
}

func (s *state) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "available %d of %d", s.available(), s.capacity)
	for _, h := range s.holds {
		if h.expires == noExpiry {
			fmt.Fprintf(&b, "; %s holds %d (expiry unknown)", h.id, h.qty)
		} else {
			fmt.Fprintf(&b, "; %s holds %d until %d", h.id, h.qty, h.expires)
		}
	}
	for _, bk := range s.bookings {
		fmt.Fprintf(&b, "; %s booked %d", bk.id, bk.qty)
	}
	return b.String()
}
