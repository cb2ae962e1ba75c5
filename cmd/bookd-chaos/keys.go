package main

import (
	"fmt"
	"path/filepath"

	"github.com/bookd/bookd/cmd/bookd-chaos/history"
	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// checkClaimKeys reads, in each stopped node's store, whether the
// idempotency key of every answered claim (Hold, Book) is used. A claim the
// log answered has its answer recorded under its key; a BatchWrite first
// attempt that the leader refused from its state, without the log, has
// not. So an acknowledged claim, or a refusal that cannot have come
// without the log, must have a used key; the refusals whose key is unused
// are the early ones, counted in early (from the first store).
//
// The store does not export its idempotency records; the probe asks
// fsm.CertainRefusals about a claim with the same key and kind that no event
// can satisfy (more tickets than gaEvent, a general-admission event, has):
// that is refused exactly when the key is unused.
func checkClaimKeys(dirs []string, gaEvent string, ops []history.Op) (early int, bad []string) {
	for i, dir := range dirs {
		n, problems := checkStoreKeys(dir, gaEvent, ops)
		bad = append(bad, problems...)
		switch {
		case i == 0:
			early = n
		case n != early:
			bad = append(bad, fmt.Sprintf("KEYS DIFFER: %s has %d early refusals, %s %d", dirs[0], early, dir, n))
		}
	}
	return early, bad
}

func checkStoreKeys(dir, gaEvent string, ops []history.Op) (early int, bad []string) {
	f, err := fsm.Open(filepath.Join(dir, "fsm"), nil)
	if err != nil {
		return 0, []string{fmt.Sprintf("%s: open store: %v", dir, err)}
	}
	defer f.Close()
	// Keys are scoped per customer: the probe is the op's client's. It asks
	// for the most a valid claim may (CertainRefusals leaves invalid ones to
	// the state machine), more than gaCapacity.
	unused := func(client int, kind history.Kind, key string) bool {
		const tooMany = fsm.MaxQuantityOfHold
		customer := customerOf(client)
		cmd := &fsm.Command{Op: &fsmv1.Command_Book{Book: &bookdv1.BookRequest{EventId: gaEvent, CustomerId: customer, Quantity: tooMany, IdempotencyKey: key}}}
		if kind == history.Hold {
			cmd.Op = &fsmv1.Command_Hold{Hold: &bookdv1.HoldRequest{EventId: gaEvent, CustomerId: customer, Quantity: tooMany, IdempotencyKey: key}}
		}
		return f.CertainRefusals([]*fsm.Command{cmd})[0] != nil
	}
	if !unused(0, history.Book, "chaos-probe-never-used") {
		return 0, []string{fmt.Sprintf("%s: the key probe does not work: a key never used looks used (event %s)", dir, gaEvent)}
	}
	for _, op := range ops {
		if (op.In.Kind != history.Hold && op.In.Kind != history.Book) || op.Out.Result == history.Unknown || !unused(op.Client, op.In.Kind, op.In.Key) {
			continue
		}
		switch {
		case op.Out.Result == history.Refused && op.Out.MaybeUnlogged:
			early++
		case op.Out.Result == history.Refused:
			bad = append(bad, fmt.Sprintf("%s: REFUSAL NOT IN THE LOG: op %d (client %d, %v, key %s) was refused, and its key is unused, though it was not a first attempt", dir, op.In.Seq, op.Client, op.In, op.In.Key))
		default:
			bad = append(bad, fmt.Sprintf("%s: ACKNOWLEDGED CLAIM NOT IN THE LOG: op %d (client %d, %v, key %s) got %v, and its key is unused", dir, op.In.Seq, op.Client, op.In, op.In.Key, op.Out))
		}
	}
	return early, bad
}

// gaEvent is a general-admission event of the run (its first one).
func gaEvent(events []eventInfo) string {
	for _, ev := range events {
		if len(ev.seats) == 0 {
			return ev.id
		}
	}
	return ""
}
