package procs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/client"
)

// Replace swaps member id for a new node the way an operator should: it
// starts a node with a new id and fresh data in the spare slot, lets it join
// with --join, waits until it is a caught-up voter (Nodes lists both
// meanwhile), and only then removes id through the cluster API and stops it. The cluster thus never has fewer
// live voters than before, and never a dead one. The freed slot (its IP and
// ports) becomes the spare, so the next replacement reuses the removed
// member's address. It returns the new id; the old node's data and log stay
// in Options.Dir. A removal that fails is retried before the next
// replacement; asked to replace a member that such a replacement left
// behind, Replace only finishes its removal, and returns an error. Calls
// are serialized, and a slot is never handed out while a process started
// in it may still run (ErrSlotInUse).
func (c *Cluster) Replace(ctx context.Context, id string) (string, error) {
	// One replacement at a time: two would both remove the same leftovers
	// and both free their slot.
	c.replacing.Lock()
	defer c.replacing.Unlock()
	c.mu.Lock()
	replaced := slices.ContainsFunc(c.leftovers, func(n *Node) bool { return n.ID == id })
	c.mu.Unlock()
	if err := c.removeLeftovers(ctx); err != nil {
		return "", err
	}
	// Look id up only now: a member that a replacement which failed half
	// way left behind is gone, and its slot is the spare. Queued for
	// removal again, it would be removed twice, and the second time would
	// stop the proxies of the node that took its slot meanwhile and free
	// that slot while the node still ran in it.
	if replaced {
		return "", fmt.Errorf("procs: replace %s: it was replaced already; its removal is now done", id)
	}
	old, err := c.Node(id)
	if err != nil {
		return "", err
	}
	var join []string
	for _, n := range c.Running() {
		join = append(join, n.RPCAdvertise)
	}
	if len(join) == 0 {
		return "", fmt.Errorf("procs: replace %s: no member runs", id)
	}

	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return "", ErrStopped
	}
	spare := c.spare
	if spare == nil {
		c.mu.Unlock()
		return "", fmt.Errorf("procs: replace %s: no spare slot", id)
	}
	if err := spare.vacantLocked(); err != nil {
		c.mu.Unlock()
		return "", fmt.Errorf("procs: replace %s: %w", id, err)
	}
	c.spare = nil
	newID := fmt.Sprintf("n%d", c.nextID)
	c.nextID++
	nn := c.newNode(newID, spare)
	nn.boot = []string{"--join", strings.Join(join, ",")}
	c.mu.Unlock()
	// Until nn runs, the slot can go back to being the spare.
	unstarted := func(err error) (string, error) {
		err = errors.Join(err, nn.retire())
		c.mu.Lock()
		c.spare = spare
		c.mu.Unlock()
		return "", err
	}
	if err := c.attach(nn); err != nil {
		return unstarted(err)
	}
	c.log.Info("replace: start", "old", id, "new", newID)
	if err := nn.start(&c.procs, c.exited); err != nil {
		return unstarted(errors.Join(err, c.detach(nn)))
	}
	// Both are members until old is removed; should this replacement fail
	// half way, the next one finishes it by removing old first.
	c.mu.Lock()
	c.nodes = append(c.nodes, nn)
	c.leftovers = append(c.leftovers, old)
	c.mu.Unlock()

	sctx, cancel := c.startDeadline(ctx)
	defer cancel()
	if err := c.waitServing(sctx, nn); err != nil {
		return "", err
	}
	if err := c.waitVoter(ctx, newID); err != nil {
		return "", err
	}
	if _, err := c.WaitCaughtUp(ctx, newID); err != nil {
		return "", err
	}
	return newID, c.removeLeftovers(ctx)
}

// removeLeftovers removes from the cluster, stops and detaches the members
// Replace has replaced, freeing their slot as the spare.
func (c *Cluster) removeLeftovers(ctx context.Context) error {
	c.mu.Lock()
	left := append([]*Node(nil), c.leftovers...)
	c.mu.Unlock()
	if len(left) == 0 {
		return nil
	}
	var endpoints []string
	for _, n := range c.Running() {
		endpoints = append(endpoints, n.RPCAddr)
	}
	cl, err := client.New(endpoints, client.WithMaxAttempts(20), client.WithBackoff(50*time.Millisecond, 500*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, old := range left {
		c.log.Info("replace: remove", "node", old.ID)
		if _, err := cl.RemoveNode(ctx, old.ID); err != nil && connect.CodeOf(err) != connect.CodeNotFound {
			return fmt.Errorf("procs: remove replaced %s: %w", old.ID, err)
		}
		if err := errors.Join(old.retire(), c.detach(old)); err != nil {
			return err
		}
		c.mu.Lock()
		c.leftovers = slices.DeleteFunc(c.leftovers, func(l *Node) bool { return l == old })
		c.nodes = slices.DeleteFunc(c.nodes, func(n *Node) bool { return n == old })
		err := old.slot.vacantLocked()
		if err == nil {
			c.spare = old.slot
		}
		c.mu.Unlock()
		if err != nil {
			return fmt.Errorf("procs: free the slot of replaced %s: %w", old.ID, err)
		}
	}
	return nil
}

// waitVoter waits until the leader lists id as a voter.
func (c *Cluster) waitVoter(ctx context.Context, id string) error {
	for {
		leader, err := c.Leader(ctx)
		if err != nil {
			return err
		}
		if st, err := c.statusByID(ctx, leader); err == nil {
			for _, m := range st.Members {
				if m.Id == id && m.Voter {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("procs: %s never became a voter: %w", id, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}
