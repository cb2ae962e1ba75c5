package raftnode

// appliedIndex is the last log entry this node has applied: the state
// machine's last command, or a later entry that never reaches the state
// machine (a read barrier, a new leader's no-op, a configuration change)
// once Raft has processed it. Raft counts an entry processed when it has
// handed it to the state machine's queue; on the leader the packer keeps
// that queue to an entry or two of commands.
func (n *Node) appliedIndex() uint64 {
	return max(n.fsm.AppliedIndex(), n.raft.AppliedIndex())
}

// ApplyLag is how many log entries this node has appended (or, on the
// leader, proposed) but not yet applied: the queue that grows when writes
// arrive faster than they commit and apply. A node sheds writes while it is
// long (see rpc.ShedConfig). Entries that never reach the state machine
// count as applied as soon as Raft has processed them, so reads (which may
// append barriers) never look like a backlog of writes.
func (n *Node) ApplyLag() uint64 {
	last, applied := n.raft.LastIndex(), n.appliedIndex()
	if last <= applied {
		return 0
	}
	return last - applied
}
