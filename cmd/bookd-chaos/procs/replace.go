package procs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bookd/bookd/client"
)

// Replace swaps member id for a new node, as an operator replacing a
// machine would: it removes id through the cluster API (the request goes to
// the running members and is forwarded to the leader), kills it, and starts
// a new node with a new id and a fresh data directory in the same slot
// (loopback IP and ports) that joins with --join. It returns the new id once
// the new node is a voter in the leader's configuration and has caught up
// with the leader (see WaitCaughtUp). The old node's data and log stay
// in Options.Dir.
func (c *Cluster) Replace(ctx context.Context, id string) (string, error) {
	old, err := c.Node(id)
	if err != nil {
		return "", err
	}
	var endpoints, join []string
	for _, n := range c.Running() {
		if n != old {
			endpoints = append(endpoints, n.RPCAddr)
			join = append(join, n.RPCAdvertise)
		}
	}
	if len(endpoints) == 0 {
		return "", fmt.Errorf("procs: replace %s: no other member runs", id)
	}
	cl, err := client.New(endpoints, client.WithMaxAttempts(20), client.WithBackoff(50*time.Millisecond, time.Second))
	if err != nil {
		return "", err
	}
	defer cl.Close()
	c.log.Info("replace: remove", "node", id)
	if _, err := cl.RemoveNode(ctx, id); err != nil {
		return "", fmt.Errorf("procs: replace %s: remove: %w", id, err)
	}
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
	return newID, nil
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
