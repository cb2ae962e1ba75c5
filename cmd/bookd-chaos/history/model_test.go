package history

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

const (
	sec = int64(time.Second)
	t0  = int64(1_000_000) * sec
	ttl = 5 * sec
)

var clocks = Clocks{Slack: int64(time.Millisecond)}

// b builds a history op by op; times are offsets from t0 in milliseconds.
type b struct{ ops []Op }

func (h *b) add(client int, in Input, out Output, call, ret int64) *b {
	in.Seq = len(h.ops)
	in.Call = t0 + call*int64(time.Millisecond)
	out.Return = t0 + ret*int64(time.Millisecond)
	if in.Capacity == 0 {
		in.Capacity = 1
	}
	if in.Qty == 0 && (in.Kind == Hold || in.Kind == Book) {
		in.Qty = 1
	}
	h.ops = append(h.ops, Op{Client: client, In: in, Out: out})
	return h
}

// hold at ms `at` (the state machine clock), returns out with the right expiry.
func holdOK(id string, atMs int64) Output {
	return Output{Result: OK, ID: id, Expires: t0 + atMs*int64(time.Millisecond) + ttl}
}

func seatHold() Input { return Input{Kind: Hold, Counter: "ev/A1", TTL: ttl} }

func check(t *testing.T, h *b) porcupine.CheckResult {
	t.Helper()
	v, err := Check(h.ops, clocks, 10*time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	return v.Result
}

func TestLegalHistories(t *testing.T) {
	cases := map[string]*b{
		"hold, confirm, read taken, cancel, read free": new(b).
			add(0, seatHold(), holdOK("h1", 5), 0, 10).
			add(0, Input{Kind: Confirm, Counter: "ev/A1", Ref: "h1"}, Output{Result: OK, ID: "b1"}, 20, 30).
			add(1, Input{Kind: Read, Counter: "ev/A1"}, Output{Result: OK, Available: 0}, 40, 50).
			add(0, Input{Kind: Cancel, Counter: "ev/A1", Ref: "b1"}, Output{Result: OK}, 60, 70).
			add(1, Input{Kind: Read, Counter: "ev/A1"}, Output{Result: OK, Available: 1}, 80, 90),
		"a hold expires and the seat is held again": new(b).
			add(0, seatHold(), holdOK("h1", 5), 0, 10).
			add(1, seatHold(), holdOK("h2", 6000), 5990, 6010).
			add(0, Input{Kind: Confirm, Counter: "ev/A1", Ref: "h1"}, Output{Result: Refused, Reason: ReasonExpired}, 6100, 6110),
		"concurrent claims: one wins": new(b).
			add(0, seatHold(), holdOK("h1", 5), 0, 10).
			add(1, seatHold(), Output{Result: Refused, Reason: ReasonTaken}, 0, 10),
		"a read may lag expiry: the clock only moves with commands": new(b).
			add(0, seatHold(), holdOK("h1", 5), 0, 10).
			add(1, Input{Kind: Read, Counter: "ev/A1"}, Output{Result: OK, Available: 0}, 7000, 7010),
		"an unknown booking may have happened": new(b).
			add(0, Input{Kind: Book, Counter: "ev/A1"}, Output{Result: Unknown}, 0, 10).
			add(1, seatHold(), Output{Result: Refused, Reason: ReasonTaken}, 20, 30),
		"or not": new(b).
			add(0, Input{Kind: Book, Counter: "ev/A1"}, Output{Result: Unknown}, 0, 10).
			add(1, seatHold(), holdOK("h1", 25), 20, 30),
		"an unknown hold may expire any time": new(b).
			add(0, seatHold(), Output{Result: Unknown}, 0, 10).
			add(1, Input{Kind: Read, Counter: "ev/A1"}, Output{Result: OK, Available: 0}, 20, 30).
			add(1, Input{Kind: Read, Counter: "ev/A1"}, Output{Result: OK, Available: 1}, 40, 50),
		"general admission fills up": new(b).
			add(0, Input{Kind: Book, Counter: "ga", Capacity: 3, Qty: 2}, Output{Result: OK, ID: "b1"}, 0, 10).
			add(1, Input{Kind: Hold, Counter: "ga", Capacity: 3, Qty: 1, TTL: ttl}, holdOK("h1", 5), 0, 10).
			add(2, Input{Kind: Book, Counter: "ga", Capacity: 3, Qty: 1}, Output{Result: Refused, Reason: ReasonTaken}, 20, 30).
			add(2, Input{Kind: Read, Counter: "ga", Capacity: 3}, Output{Result: OK, Available: 0}, 40, 50),
	}
	for name, h := range cases {
		if got := check(t, h); got != porcupine.Ok {
			t.Errorf("%s: %s, want Ok", name, got)
		}
	}
}

func TestAnomaliesAreCaught(t *testing.T) {
	cases := map[string]*b{
		"a held seat held twice": new(b).
			add(0, seatHold(), holdOK("h1", 5), 0, 10).
			add(1, seatHold(), holdOK("h2", 25), 20, 30),
		"a booked seat booked again": new(b).
			add(0, Input{Kind: Book, Counter: "ev/A1"}, Output{Result: OK, ID: "b1"}, 0, 10).
			add(1, Input{Kind: Book, Counter: "ev/A1"}, Output{Result: OK, ID: "b2"}, 20, 30),
		"general admission oversold": new(b).
			add(0, Input{Kind: Book, Counter: "ga", Capacity: 3, Qty: 2}, Output{Result: OK, ID: "b1"}, 0, 10).
			add(1, Input{Kind: Book, Counter: "ga", Capacity: 3, Qty: 2}, Output{Result: OK, ID: "b2"}, 0, 10),
		"a stale read after a booking": new(b).
			add(0, Input{Kind: Book, Counter: "ev/A1"}, Output{Result: OK, ID: "b1"}, 0, 10).
			add(1, Input{Kind: Read, Counter: "ev/A1"}, Output{Result: OK, Available: 1}, 20, 30),
		"an expired hold confirmed after its seat was held again": new(b).
			add(0, seatHold(), holdOK("h1", 5), 0, 10).
			add(1, seatHold(), holdOK("h2", 6000), 5990, 6010).
			add(0, Input{Kind: Confirm, Counter: "ev/A1", Ref: "h1"}, Output{Result: OK, ID: "b1"}, 6100, 6110),
		"a hold confirmed after it was seen expired": new(b).
			add(0, seatHold(), holdOK("h1", 5), 0, 10).
			add(1, Input{Kind: Release, Counter: "ev/A1", Ref: "h1"}, Output{Result: Refused, Reason: ReasonExpired}, 5100, 5110).
			add(0, Input{Kind: Confirm, Counter: "ev/A1", Ref: "h1"}, Output{Result: OK, ID: "b1"}, 5200, 5210),
		"a hold expired early": new(b).
			add(0, seatHold(), holdOK("h1", 5), 0, 10).
			add(1, Input{Kind: Release, Counter: "ev/A1", Ref: "h1"}, Output{Result: Refused, Reason: ReasonExpired}, 1000, 1010),
		"time ran backwards": new(b).
			add(0, seatHold(), holdOK("h1", 5), 0, 10).
			add(0, Input{Kind: Release, Counter: "ev/A1", Ref: "h1"}, Output{Result: OK}, 20, 30).
			add(1, seatHold(), holdOK("h2", 4), 40, 50),
		"a freed seat read as taken after its hold was released": new(b).
			add(0, seatHold(), holdOK("h1", 5), 0, 10).
			add(0, Input{Kind: Release, Counter: "ev/A1", Ref: "h1"}, Output{Result: OK}, 20, 30).
			add(1, Input{Kind: Read, Counter: "ev/A1"}, Output{Result: OK, Available: 0}, 40, 50),
		"a cancelled booking cancelled again": new(b).
			add(0, Input{Kind: Book, Counter: "ev/A1"}, Output{Result: OK, ID: "b1"}, 0, 10).
			add(0, Input{Kind: Cancel, Counter: "ev/A1", Ref: "b1"}, Output{Result: OK}, 20, 30).
			add(0, Input{Kind: Cancel, Counter: "ev/A1", Ref: "b1"}, Output{Result: OK}, 40, 50),
	}
	for name, h := range cases {
		if got := check(t, h); got != porcupine.Illegal {
			t.Errorf("%s: %s, want Illegal", name, got)
		}
	}
}

// A skewed leader may expire holds early by up to its offset, and the model
// must allow exactly that much.
func TestClockOffsetsWidenTheWindow(t *testing.T) {
	h := new(b).
		add(0, seatHold(), holdOK("h1", 5), 0, 10).
		add(1, Input{Kind: Release, Counter: "ev/A1", Ref: "h1"}, Output{Result: Refused, Reason: ReasonExpired}, 3000, 3010)
	skewed := Clocks{MaxOffset: 2 * sec, Slack: clocks.Slack}
	if v, _ := Check(h.ops, skewed, 10*time.Second, ""); v.Result != porcupine.Ok {
		t.Errorf("2s ahead: %s, want Ok", v.Result)
	}
	if v, _ := Check(h.ops, clocks, 10*time.Second, ""); v.Result != porcupine.Illegal {
		t.Errorf("no skew: %s, want Illegal", v.Result)
	}
}
