package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/history"
)

// recorder collects the history. Writes whose outcome was unknown when the
// client gave up are kept pending: after the cluster heals they are sent
// again with the same idempotency key, and the definite answer closes them.
type recorder struct {
	mu         sync.Mutex
	seq        int
	ops        []history.Op
	pending    []pendingOp
	unexpected []string
}

type pendingOp struct {
	client int
	in     history.Input
	send   mutation
}

func (r *recorder) nextSeq() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	return r.seq
}

func (r *recorder) add(client int, in history.Input, out history.Output) {
	if out.Return == 0 {
		out.Return = time.Now().UnixNano()
	}
	r.mu.Lock()
	r.ops = append(r.ops, history.Op{Client: client, In: in, Out: out})
	r.mu.Unlock()
}

func (r *recorder) addPending(client int, in history.Input, send mutation) {
	r.mu.Lock()
	r.pending = append(r.pending, pendingOp{client: client, in: in, send: send})
	r.mu.Unlock()
}

// fail records an answer no correct cluster gives (an acknowledged hold
// not found, an internal error).
func (r *recorder) fail(format string, args ...any) {
	r.mu.Lock()
	r.unexpected = append(r.unexpected, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) takePending() []pendingOp {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pending
	r.pending = nil
	return p
}

func (r *recorder) history() []history.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]history.Op(nil), r.ops...)
}
