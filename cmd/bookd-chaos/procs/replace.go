package procs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/client"
)

// Replace swaps member id for a new node, as an operator replacing a dead
// machine would: it kills id, starts a new node with a new id and a fresh
// data directory in the same slot (the same loopback IP and ports, so the
// removed member's address now leads to another server), lets it join with
// --join, waits until it is a caught-up voter, and only then removes id
// through the cluster API, so the cluster never drops below its size (bookd
// refuses to leave fewer than 3 voters). It returns the new id. The old
// node's data and log stay in Options.Dir. A removal that fails is retried
// by the next Replace.
func (c *Cluster) Replace(ctx context.Context, id string) (string, error) {
	old, err := c.Node(id)
	if err != nil {
		return "", err
	}
	// A member replaced earlier but not yet removed is a dead voter: taking
	// out another one before it is removed would lose a majority for good.
	if err := c.removeLeftovers(ctx); err != nil {
		return "", err
	}
	var join []string
	for _, n := range c.Running() {
		if n != old {
			join = append(join, n.RPCAdvertise)
		}
	}
	if len(join) == 0 {
		return "", fmt.Errorf("procs: replace %s: no other member runs", id)
	}
	c.log.Info("replace: kill", "node", id)
	if err := old.kill(); err != nil {
		return "", err
	}
	if err := c.detach(old); err != nil {
		return "", err
	}

	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return "", ErrStopped
	}
	newID := fmt.Sprintf("n%d", c.nextID)
	c.nextID++
	nn := c.newNode(newID, old.slot)
	nn.boot = []string{"--join", strings.Join(join, ",")}
	for i, n := range c.nodes {
		if n == old {
			c.nodes[i] = nn
		}
	}
	c.leftovers = append(c.leftovers, id)
	c.mu.Unlock()
	if err := c.attach(nn); err != nil {
		return "", err
	}
	c.log.Info("replace: start", "old", id, "new", newID)
	if err := nn.start(&c.procs, c.exited); err != nil {
		return "", err
	}
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

// removeLeftovers removes the members Replace took out of service.
func (c *Cluster) removeLeftovers(ctx context.Context) error {
	var endpoints []string
	for _, n := range c.Running() {
		endpoints = append(endpoints, n.RPCAddr)
	}
	cl, err := client.New(endpoints, client.WithMaxAttempts(20), client.WithBackoff(50*time.Millisecond, 500*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	c.mu.Lock()
	left := append([]string(nil), c.leftovers...)
	c.mu.Unlock()
	for _, id := range left {
		c.log.Info("replace: remove", "node", id)
		if _, err := cl.RemoveNode(ctx, id); err != nil && connect.CodeOf(err) != connect.CodeNotFound {
			return fmt.Errorf("procs: remove replaced %s: %w", id, err)
		}
		c.mu.Lock()
		c.leftovers = slices.DeleteFunc(c.leftovers, func(l string) bool { return l == id })
		c.mu.Unlock()
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
