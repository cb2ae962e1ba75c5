package history

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

// soldOutRead is a GA event of 3 where b1 books 2 and h1 holds 1 (stamped
// at 5 ms, so expiring at 5005 ms); then, with no command in between, a
// claim of 2 is refused at 5100 ms and a read at 5200 ms still counts h1:
// the state machine's clock is still at 5 ms.
func soldOutRead(refusal Output) *b {
	ga := func(k Kind, qty int64) Input {
		in := Input{Kind: k, Counter: "ga", Capacity: 3, Qty: qty}
		if k == Hold {
			in.TTL = ttl
		}
		return in
	}
	return new(b).
		add(0, ga(Book, 2), Output{Result: OK, ID: "b1"}, 0, 10).
		add(1, ga(Hold, 1), holdOK("h1", 5), 0, 10).
		add(2, ga(Book, 2), refusal, 5100, 5110).
		add(3, ga(Read, 0), Output{Result: OK, Available: 0}, 5200, 5210)
}

// A refusal given without the log (a BatchWrite first attempt refused from
// the leader's state) moves no clock, so a later read may still count a
// hold due before the refusal; a refusal that is a command may not.
func TestAnUnloggedRefusalTellsNoClock(t *testing.T) {
	taken := Output{Result: Refused, Reason: ReasonTaken}
	if got := check(t, soldOutRead(taken)); got != porcupine.Illegal {
		t.Errorf("refusal through the log, then h1 counted after its expiry: %s, want Illegal", got)
	}
	taken.MaybeUnlogged = true
	if got := check(t, soldOutRead(taken)); got != porcupine.Ok {
		t.Errorf("refusal maybe without the log, then h1 counted: %s, want Ok", got)
	}
}

// An unlogged refusal still observes the state: it needs a moment within
// its call when there were too few places.
func TestAnUnloggedRefusalMustSeeTheStateTaken(t *testing.T) {
	early := Output{Result: Refused, Reason: ReasonTaken, MaybeUnlogged: true}
	cases := map[string]*b{
		"a free seat refused": new(b).
			add(0, Input{Kind: Book, Counter: "ev/A1"}, early, 0, 10),
		"a seat refused after its booking was cancelled": new(b).
			add(0, Input{Kind: Book, Counter: "ev/A1"}, Output{Result: OK, ID: "b1"}, 0, 10).
			add(0, Input{Kind: Cancel, Counter: "ev/A1", Ref: "b1"}, Output{Result: OK}, 20, 30).
			add(1, Input{Kind: Book, Counter: "ev/A1"}, early, 40, 50),
		"general admission refused with places left": new(b).
			add(0, Input{Kind: Book, Counter: "ga", Capacity: 3, Qty: 1}, Output{Result: OK, ID: "b1"}, 0, 10).
			add(1, Input{Kind: Book, Counter: "ga", Capacity: 3, Qty: 2}, early, 20, 30),
	}
	for name, h := range cases {
		if got := check(t, h); got != porcupine.Illegal {
			t.Errorf("%s: %s, want Illegal", name, got)
		}
	}
	legal := new(b).
		add(0, Input{Kind: Book, Counter: "ev/A1"}, Output{Result: OK, ID: "b1"}, 0, 10).
		add(0, Input{Kind: Cancel, Counter: "ev/A1", Ref: "b1"}, Output{Result: OK}, 20, 30).
		add(1, Input{Kind: Book, Counter: "ev/A1"}, early, 5, 25)
	if got := check(t, legal); got != porcupine.Ok {
		t.Errorf("a seat refused while booked, concurrent with the cancel: %s, want Ok", got)
	}
}
