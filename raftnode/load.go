package raftnode

// ApplyLag is how many log entries this node has appended (or, on the
// leader, proposed) but not yet applied to its state machine: the queue
// that grows when writes arrive faster than they commit and apply. A node
// sheds writes while it is long (see rpc.ShedConfig). Entries that never
// reach the state machine (configuration changes, a new leader's no-op)
// count until the next command is applied.
func (n *Node) ApplyLag() uint64 {
	last, applied := n.raft.LastIndex(), n.fsm.AppliedIndex()
	if last <= applied {
		return 0
	}
	return last - applied
}
