package main

import (
	"fmt"
	"io"

	"github.com/bookd/bookd/cmd/bookd-chaos/history"
)

// paths is how the recorded writes reached the cluster: one call each, or
// in BatchWrite calls, and what became of the batched claims.
type paths struct {
	Single, Batched int   // writes recorded (reads are all single calls)
	Batches         int64 // BatchWrite calls that carried them (retries not counted)
	Refused         int   // batched claims refused SEAT_TAKEN or SOLD_OUT
	FirstRefused    int   // of those, answers to a first attempt
	Early           int   // of those, refused without the log (key unused after the run)
}

func countPaths(ops []history.Op, batches int64) paths {
	p := paths{Batches: batches}
	for _, op := range ops {
		switch {
		case op.In.Kind == history.Read:
		case !batchedClient(op.Client):
			p.Single++
		default:
			p.Batched++
			if op.Out.Result == history.Refused && op.Out.Reason == history.ReasonTaken {
				p.Refused++
				if op.Out.MaybeUnlogged {
					p.FirstRefused++
				}
			}
		}
	}
	return p
}

func (p paths) print(w io.Writer) {
	per := 0.0
	if p.Batches > 0 {
		per = float64(p.Batched) / float64(p.Batches)
	}
	fmt.Fprintf(w, "writes: %d single calls, %d batched in %d BatchWrite calls (%.1f a call)\n", p.Single, p.Batched, p.Batches, per)
	fmt.Fprintf(w, "batched claims refused: %d (%d answering a first attempt, %d of them without the log)\n", p.Refused, p.FirstRefused, p.Early)
}
