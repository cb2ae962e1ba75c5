package rpc

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/raftnode"
	"github.com/hashicorp/raft"
)

// newLeaderTimeout bounds how long a call that moved leadership waits for
// the node to learn who leads now, when the caller gave no earlier deadline.
const newLeaderTimeout = 10 * time.Second

// waitNewLeader waits until node knows a leader other than old and returns
// its id. A node that is itself leading again (it won the election that
// followed) answers its own id. It gives up with UNAVAILABLE when ctx ends
// or newLeaderTimeout passes: leadership has moved, but to whom is not
// known yet.
//
// A node that steps down forgets the leader, and learns the new one from
// the new leader's first heartbeat; until then Leader answers "" (or, for
// an instant, the old leader itself). The wait wakes on Raft's leader
// observations rather than polling.
func waitNewLeader(ctx context.Context, node *raftnode.Node, old string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, newLeaderTimeout)
	defer cancel()
	// Registered before the first look, so that no change is missed.
	changed := make(chan raft.Observation, 1)
	obs := raft.NewObserver(changed, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	node.Raft().RegisterObserver(obs)
	defer node.Raft().DeregisterObserver(obs)
	for {
		switch id, _ := node.Leader(); {
		case id != "" && id != old:
			return id, nil
		case id != "" && id == node.ID() && node.IsLeader():
			return id, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", connect.NewError(connect.CodeUnavailable,
				fmt.Errorf("leadership moved away from %s, but no new leader is known yet (%w); ask `bookd cluster status`", old, ctx.Err()))
		}
	}
}
