package main

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"

	"github.com/bookd/bookd/fsm"
	"google.golang.org/protobuf/proto"
)

// checkFeeds reads the change feed of every stopped node's store and checks
// it: in commit order, no position twice or skipped within a command, the
// same on every node, and every acknowledged change in it exactly once.
func checkFeeds(dataDirs []string, a acked) (changes int, bad []string) {
	var first []byte
	for i, dir := range dataDirs {
		n, sum, problems := checkFeed(dir, a)
		bad = append(bad, problems...)
		if i == 0 {
			first, changes = sum, n
		} else if string(sum) != string(first) {
			bad = append(bad, fmt.Sprintf("FEEDS DIFFER: %s and %s", dataDirs[0], dir))
		}
	}
	return changes, bad
}

func checkFeed(dir string, a acked) (int, []byte, []string) {
	var bad []string
	f, err := fsm.Open(filepath.Join(dir, "fsm"), nil)
	if err != nil {
		return 0, nil, []string{fmt.Sprintf("%s: open store: %v", dir, err)}
	}
	defer f.Close()
	h := sha256.New()
	count := map[string]int{} // kind/id → times seen
	terminal := map[string]int{}
	var lastIndex uint64
	var lastSeq uint32
	n := 0
	for more := true; more; {
		var page []*fsm.Change
		page, more, err = f.Changes(lastIndex, lastSeq, 1000)
		if err != nil {
			return n, nil, append(bad, fmt.Sprintf("%s: read feed: %v", dir, err))
		}
		for _, c := range page {
			switch {
			case n == 0 && c.GetSeq() != 0,
				n > 0 && c.GetIndex() == lastIndex && c.GetSeq() != lastSeq+1,
				n > 0 && c.GetIndex() != lastIndex && (c.GetIndex() < lastIndex || c.GetSeq() != 0):
				bad = append(bad, fmt.Sprintf("%s: FEED OUT OF ORDER: (%d,%d) after (%d,%d)", dir, c.GetIndex(), c.GetSeq(), lastIndex, lastSeq))
			}
			lastIndex, lastSeq = c.GetIndex(), c.GetSeq()
			n++
			b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
			h.Write(b)
			switch c.GetKind() {
			case "hold_created", "hold_released":
				count[c.GetKind()+"/"+c.GetHoldId()]++
			case "booking_confirmed", "booking_cancelled":
				count[c.GetKind()+"/"+c.GetBookingId()]++
			}
			if c.GetKind() == "hold_released" || c.GetKind() == "hold_expired" || (c.GetKind() == "booking_confirmed" && c.GetHoldId() != "") {
				terminal[c.GetHoldId()]++
			}
		}
	}
	for k, v := range count {
		if v > 1 {
			bad = append(bad, fmt.Sprintf("%s: FEED REPEATS %s %d times", dir, k, v))
		}
	}
	for id, v := range terminal {
		if v > 1 {
			bad = append(bad, fmt.Sprintf("%s: FEED ENDS HOLD %s %d times", dir, id, v))
		}
	}
	need := func(kind string, ids map[string]bool) {
		for id := range ids {
			if count[kind+"/"+id] != 1 {
				bad = append(bad, fmt.Sprintf("%s: FEED MISSES %s %s", dir, kind, id))
			}
		}
	}
	bookings := map[string]bool{}
	for id := range a.bookings {
		bookings[id] = true
	}
	need("hold_created", a.holds)
	need("hold_released", a.released)
	need("booking_confirmed", bookings)
	need("booking_cancelled", a.cancelled)
	return n, h.Sum(nil), bad
}
