package raftnode

import (
	"errors"
	"strings"
)

// An operator's removal leaves a tombstone in the replicated state: the
// member's registered RPC address is replaced by removedMarker. The marker is
// no address (it has no port), so the state machine needs no command of its
// own for it, and a snapshot carries it like any registration. A node asking
// to be added back for itself is refused while its tombstone stands; an
// operator's explicit add overwrites it.
const removedMarker = "!removed"

// ErrRemoved: an operator removed this member, so it may not add itself back
// (it must be added again explicitly, ideally with a new id and fresh data).
var ErrRemoved = errors.New("raftnode: member was removed from the cluster by an operator")

// isTombstone reports whether a registered RPC address is a removal's tombstone.
func isTombstone(rpcAddr string) bool { return strings.HasPrefix(rpcAddr, removedMarker) }

// memberRecords reads the registered RPC addresses and the tombstones.
func (n *Node) memberRecords() (addrs map[string]string, removed map[string]bool, err error) {
	members, err := n.fsm.Members()
	if err != nil {
		return nil, nil, err
	}
	addrs, removed = make(map[string]string, len(members)), map[string]bool{}
	for _, m := range members {
		if isTombstone(m.RPCAddress) {
			removed[m.ID] = true
			continue
		}
		addrs[m.ID] = m.RPCAddress
	}
	return addrs, removed, nil
}

// Removed reports whether this node's replicated state says an operator
// removed member id (and nobody added it back since).
func (n *Node) Removed(id string) (bool, error) {
	_, removed, err := n.memberRecords()
	return removed[id], err
}
