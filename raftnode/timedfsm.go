package raftnode

import (
	"time"

	"github.com/bookd/bookd/fsm"
	"github.com/hashicorp/raft"
)

// timedFSM is the state machine as Raft drives it. After each batch it
// tells the stamp clock when this node applied the state machine's time,
// so that a term beginning after a pause in writes (an election, a
// leadership transfer) counts the pause as time that passed: see
// stampClock.lead.
type timedFSM struct {
	*fsm.FSM
	clock *stampClock
}

// ApplyBatch applies entries (raft.BatchingFSM) and notes the instant.
func (t timedFSM) ApplyBatch(logs []*raft.Log) []any {
	out := t.FSM.ApplyBatch(logs)
	t.clock.applied(t.FSM.AppliedClock(), time.Now())
	return out
}

// Apply applies one entry (raft.FSM); Raft calls ApplyBatch instead.
func (t timedFSM) Apply(l *raft.Log) any { return t.ApplyBatch([]*raft.Log{l})[0] }
