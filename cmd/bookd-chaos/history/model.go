package history

import (
	"fmt"
	"math"

	"github.com/anishathalye/porcupine"
)

// Clocks bounds the state machine's clock against the clients' clock: every
// node's clock was offset by a value in [MinOffset, MaxOffset] (0 included),
// and Slack absorbs the rest (clock reads on one host).
type Clocks struct {
	MinOffset, MaxOffset, Slack int64
}

// Model is the porcupine model of one counter under clocks c.
func Model(c Clocks) porcupine.Model {
	m := porcupine.NondeterministicModel{
		Partition: partitionByCounter,
		Init: func() []any {
			return []any{&state{capacity: -1, ended: map[string]string{}, cancelled: map[string]bool{}}}
		},
		Step: func(st, in, out any) []any {
			var next []any
			for _, s := range st.(*state).unknownHoldsExpired() {
				for _, n := range c.step(s, in.(Input), out.(Output)) {
					next = append(next, n)
				}
			}
			return next
		},
		Equal:             func(a, b any) bool { return equalStates(a.(*state), b.(*state)) },
		DescribeOperation: func(in, out any) string { return fmt.Sprintf("%v → %v", in, out) },
		DescribeState:     func(s any) string { return s.(*state).String() },
	}
	return m.ToModel()
}

func partitionByCounter(history []porcupine.Operation) [][]porcupine.Operation {
	index := map[string]int{}
	var parts [][]porcupine.Operation
	for _, op := range history {
		k := op.Input.(Input).Counter
		i, ok := index[k]
		if !ok {
			i = len(parts)
			index[k] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], op)
	}
	return parts
}

// bounds is the interval the state machine's clock was in when it ran the
// operation. A command is stamped after its call and applied before its
// return; a read sees the clock of the last command before it, so only its
// upper bound is known. So does a refusal that may have come without a
// command (Output.MaybeUnlogged): it moves no clock. Checking it at the
// earlier clock is sound, as expiry only frees places: a refusal the real
// state gave, the model's state (holding at least as much) gives too.
func (c Clocks) bounds(s *state, in Input, out Output) (lo, hi int64) {
	lo = s.clock
	if in.Kind != Read && !out.MaybeUnlogged {
		lo = max(lo, in.Call+c.MinOffset-c.Slack)
	}
	hi = math.MaxInt64
	if out.Result != Unknown {
		hi = out.Return + c.MaxOffset + c.Slack
	}
	return lo, hi
}

// step returns the states that can follow s when in answered out.
func (c Clocks) step(s *state, in Input, out Output) []*state {
	s = s.clone()
	s.capacity = in.Capacity
	lo, hi := c.bounds(s, in, out)
	if lo > hi {
		return nil
	}
	if out.Result == Unknown {
		return append([]*state{s}, happened(s.expireThrough(lo), in)...)
	}
	s = s.expireThrough(lo)
	switch in.Kind {
	case Hold, Book:
		return claimed(s, in, out, hi)
	case Confirm, Release:
		return endHold(s, in, out, hi)
	case Cancel:
		return cancel(s, in, out)
	case Read:
		return read(s, out, hi)
	}
	return nil
}

func one(s *state, ok bool) []*state {
	if !ok {
		return nil
	}
	return []*state{s}
}

// claimed handles Hold and Book answers.
func claimed(s *state, in Input, out Output, hi int64) []*state {
	switch {
	case out.Result == Refused:
		// Expiry only frees places, so if there was a moment without enough
		// places it was the earliest one.
		return one(s, out.Reason == ReasonTaken && s.available() < in.Qty)
	case in.Kind == Hold:
		// The expiry tells the exact clock of the command.
		at := out.Expires - in.TTL
		if at < s.clock || at > hi {
			return nil
		}
		s = s.expireThrough(at)
		if s.available() < in.Qty {
			return nil
		}
		s.addHold(hold{id: out.ID, qty: in.Qty, expires: out.Expires})
		return []*state{s}
	default:
		s, ok := s.freeUp(in.Qty, hi)
		if ok {
			s.addBooking(booking{id: out.ID, qty: in.Qty})
		}
		return one(s, ok)
	}
}

// endHold handles Confirm and Release answers.
func endHold(s *state, in Input, out Output, hi int64) []*state {
	i, active := s.hold(in.Ref)
	if out.Result == Refused {
		if reason, ended := s.ended[in.Ref]; ended {
			return one(s, reason == out.Reason)
		}
		if !active || out.Reason != ReasonExpired {
			return nil
		}
		e := s.holds[i].expires
		if e == noExpiry {
			s.endHold(i, ReasonExpired)
			return []*state{s}
		}
		return one(s.expireThrough(e), e <= hi)
	}
	// Active means its expiry is after lo, so there was a moment it was live.
	if !active {
		return nil
	}
	h := s.holds[i]
	if in.Kind == Confirm {
		s.endHold(i, ReasonConfirmed)
		s.addBooking(booking{id: out.ID, qty: h.qty})
	} else {
		s.endHold(i, ReasonReleased)
	}
	return []*state{s}
}

func cancel(s *state, in Input, out Output) []*state {
	if out.Result == Refused {
		return one(s, out.Reason == ReasonCancelled && s.cancelled[in.Ref])
	}
	for i, b := range s.bookings {
		if b.id == in.Ref {
			s.bookings = append(s.bookings[:i:i], s.bookings[i+1:]...)
			s.cancelled[in.Ref] = true
			return []*state{s}
		}
	}
	return nil
}

// read finds the moment in the read's window whose availability it saw.
func read(s *state, out Output, hi int64) []*state {
	for s.available() < out.Available {
		e, ok := s.nextExpiry()
		if !ok || e > hi {
			return nil
		}
		s = s.expireThrough(e)
	}
	return one(s, s.available() == out.Available)
}

// happened returns the states after an operation with an unknown outcome
// that did take effect, at some moment after lo.
func happened(s *state, in Input) []*state {
	name := fmt.Sprintf("?%d", in.Seq)
	switch in.Kind {
	case Hold, Book:
		s, ok := s.freeUp(in.Qty, math.MaxInt64)
		if !ok {
			return nil
		}
		if in.Kind == Hold {
			s.addHold(hold{id: name, qty: in.Qty, expires: noExpiry})
		} else {
			s.addBooking(booking{id: name, qty: in.Qty})
		}
		return []*state{s}
	case Confirm, Release:
		i, ok := s.hold(in.Ref)
		if !ok {
			return nil
		}
		h := s.holds[i]
		if in.Kind == Confirm {
			s.endHold(i, ReasonConfirmed)
			s.addBooking(booking{id: name, qty: h.qty})
		} else {
			s.endHold(i, ReasonReleased)
		}
		return []*state{s}
	case Cancel:
		return cancel(s, in, Output{Result: OK})
	}
	return nil
}
