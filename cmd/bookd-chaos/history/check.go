package history

import (
	"fmt"
	"os"
	"time"

	"github.com/anishathalye/porcupine"
)

// Verdict is the outcome of checking a history.
type Verdict struct {
	Result     porcupine.CheckResult // Ok, Illegal, or Unknown (timed out)
	Operations int
	Counters   int
	Elapsed    time.Duration
}

// Check checks ops for linearizability. When the history is not
// linearizable (or the check times out) and vizPath is not empty, it writes
// porcupine's visualization there.
func Check(ops []Op, c Clocks, timeout time.Duration, vizPath string) (Verdict, error) {
	start := time.Now()
	end := int64(0)
	for _, op := range ops {
		end = max(end, op.In.Call, op.Out.Return)
	}
	history := make([]porcupine.Operation, 0, len(ops))
	counters := map[string]bool{}
	for _, op := range ops {
		ret := op.Out.Return
		if op.Out.Result == Unknown {
			ret = end + 1
		}
		counters[op.In.Counter] = true
		history = append(history, porcupine.Operation{ClientId: op.Client, Input: op.In, Call: op.In.Call, Output: op.Out, Return: ret})
	}
	model := Model(c)
	res, info := porcupine.CheckOperationsVerbose(model, history, timeout)
	v := Verdict{Result: res, Operations: len(ops), Counters: len(counters), Elapsed: time.Since(start)}
	if res != porcupine.Ok && vizPath != "" {
		if err := porcupine.VisualizePath(model, info, vizPath); err != nil {
			return v, fmt.Errorf("history: write visualization: %w", err)
		}
	}
	return v, nil
}

// Save writes ops as one line per operation, for reading after a failure.
func Save(ops []Op, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	for _, op := range ops {
		fmt.Fprintf(f, "%d\tclient %d\tcall %d\treturn %d\t%v\t%v\tttl %d\texpires %d\tkey %s\n",
			op.In.Seq, op.Client, op.In.Call, op.Out.Return, op.In, op.Out, op.In.TTL, op.Out.Expires, op.In.Key)
	}
	return f.Close()
}
