package raftnode

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/bookd/bookd/fsm"
	"github.com/hashicorp/raft"
)

// Group commit. Raft's cost is per log entry and per append (an fsync on
// every node), not per command: commands proposed at the same time should
// share entries. The packer keeps at most maxEntriesInFlight entries
// proposed and not yet applied; the commands that arrive meanwhile wait and
// leave together, in one entry, when one is applied. A lone command leaves
// at once; under load entries grow with the load, with no timer.
//
// Without it a node gave one entry to each Book call: with 512 customers
// calling one at a time (bookd-bench -batch 0) a 3-node cluster booked
// 7,021 general-admission tickets/s at 0.182 server CPU seconds per 1,000.

// maxEntriesInFlight bounds the entries a leader has proposed and not yet
// applied.
const maxEntriesInFlight = 2

// packer queues proposals and packs them into entries.
type packer struct {
	raft  *raft.Raft
	clock *stampClock

	mu       sync.Mutex
	queue    []*proposal
	inFlight int
	// readers wait for the next entry proposed, to be applied (read.go).
	readers []chan error
}

// afterNextEntry returns a channel that gets the outcome of the next entry
// this packer proposes, once it is applied (or errNoEntry, should the packer
// run out of entries in flight first), or false when no entry is
// queued or in flight, so that none may come. An entry proposed after the
// call began is a read barrier that costs the log nothing: it commits only
// in this leader's term, after everything acknowledged before the call.
func (p *packer) afterNextEntry() (<-chan error, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 && p.inFlight == 0 {
		return nil, false
	}
	ch := make(chan error, 1)
	p.readers = append(p.readers, ch)
	return ch, true
}

// proposal is one command waiting for its outcome.
type proposal struct {
	ctx  context.Context
	cmd  *fsm.Command
	res  *fsm.Result
	err  error
	done chan struct{}
}

// propose queues cmds and waits for each one's outcome. A command whose
// caller has gone before it leaves the queue is not proposed.
func (p *packer) propose(ctx context.Context, cmds []*fsm.Command) ([]*fsm.Result, []error) {
	props := make([]*proposal, len(cmds))
	for i, cmd := range cmds {
		props[i] = &proposal{ctx: ctx, cmd: cmd, done: make(chan struct{})}
	}
	p.mu.Lock()
	p.queue = append(p.queue, props...)
	p.flushLocked()
	p.mu.Unlock()
	results, errs := make([]*fsm.Result, len(cmds)), make([]error, len(cmds))
	for i, pr := range props {
		<-pr.done
		results[i], errs[i] = pr.res, pr.err
	}
	return results, errs
}

// flushLocked proposes queued commands while there is room in flight.
// Readers left waiting with nothing in flight (the queue ran dry, or held
// only commands whose callers had gone) are told no entry is coming
// (errNoEntry): the read gate serves them another way.
func (p *packer) flushLocked() {
	for len(p.queue) > 0 && p.inFlight < maxEntriesInFlight {
		n := min(len(p.queue), fsm.MaxCommandsPerEntry)
		batch := p.queue[:n:n]
		p.queue = append([]*proposal(nil), p.queue[n:]...)
		p.proposeLocked(batch)
	}
	if p.inFlight == 0 && len(p.readers) > 0 {
		for _, r := range p.readers {
			r <- errNoEntry
		}
		p.readers = nil
	}
}

// errNoEntry tells a reader waiting on afterNextEntry that no entry came.
var errNoEntry = errors.New("raftnode: no entry to wait for")

// proposeLocked proposes batch as one entry. It runs under the lock so
// that entries enter the log in queue order, their stamps increasing.
func (p *packer) proposeLocked(batch []*proposal) {
	live := batch[:0:0]
	for _, pr := range batch {
		if err := pr.ctx.Err(); err != nil {
			pr.finish(nil, err)
			continue
		}
		pr.cmd.StampUnixNanos = p.clock.stamp()
		live = append(live, pr)
	}
	if len(live) == 0 {
		return
	}
	var data []byte
	if len(live) == 1 {
		var err error
		if data, err = fsm.EncodeCommand(live[0].cmd); err != nil {
			live[0].finish(nil, err)
			return
		}
	} else {
		cmds := make([]*fsm.Command, len(live))
		for i, pr := range live {
			cmds[i] = pr.cmd
		}
		var included []int
		var errs []error
		data, included, errs = fsm.EncodeBatch(cmds)
		for i, err := range errs {
			if err != nil {
				live[i].finish(nil, err)
			}
		}
		if data == nil {
			return
		}
		kept := make([]*proposal, len(included))
		for j, i := range included {
			kept[j] = live[i]
		}
		live = kept
	}
	future := p.raft.Apply(data, enqueueTimeout)
	p.inFlight++
	readers := p.readers
	p.readers = nil
	go p.await(future, live, readers)
}

// await hands an entry's outcome to its proposals and to the readers
// waiting on it, and lets the next entry go.
func (p *packer) await(future raft.ApplyFuture, entry []*proposal, readers []chan error) {
	err := future.Error()
	for _, r := range readers {
		r <- err // Raft's own: the read gate says what it means
	}
	var results []*fsm.Result
	if err == nil {
		switch out := future.Response().(type) {
		case *fsm.Result:
			results = []*fsm.Result{out}
		case []*fsm.Result:
			results = out
		}
		if len(results) != len(entry) {
			err = fmt.Errorf("raftnode: state machine returned %T for an entry of %d", future.Response(), len(entry))
		}
	} else {
		err = proposeError(err)
	}
	for i, pr := range entry {
		if err != nil {
			pr.finish(nil, err)
		} else {
			pr.finish(results[i], nil)
		}
	}
	p.mu.Lock()
	p.inFlight--
	p.flushLocked()
	p.mu.Unlock()
}

func (pr *proposal) finish(res *fsm.Result, err error) {
	pr.res, pr.err = res, err
	close(pr.done)
}
