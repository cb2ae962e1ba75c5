package rpc

import (
	"context"
	"time"
)

// handOffTimeout bounds how long a stopping leader tries to hand over.
const handOffTimeout = 3 * time.Second

// handOff makes a stopping leader hand leadership to the most caught-up
// voter first, so that the cluster does not wait an election timeout for a
// new leader; requests this node still receives are then forwarded to it.
// A node that does not lead, or has nobody to hand over to, just stops.
func (s *Server) handOff() {
	if !s.node.IsLeader() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), handOffTimeout)
	defer cancel()
	if err := s.node.TransferLeadership(ctx, ""); err != nil {
		s.log.Info("stopping leader could not hand over leadership", "err", err)
		return
	}
	// Wait for the successor's first heartbeat: the log names it, and
	// requests still arriving are forwarded to it rather than refused.
	id, err := waitNewLeader(ctx, s.node, s.node.ID())
	if err != nil {
		s.log.Info("stopping leader handed over leadership; its successor is not known yet", "err", err)
		return
	}
	s.log.Info("stopping leader handed over leadership", "to", id)
}
