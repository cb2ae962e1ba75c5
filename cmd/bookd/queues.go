package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
)

func newQueuesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queues",
		Short: "Work queues: post-booking work (receipts, payment capture, refunds) written in the booking's own commit",
		Long: `A queue takes every change of the kinds it names (booking_confirmed, booking_cancelled, ...)
as a message, in the same Raft commit as the change. Workers lease messages (Receive), ack
them when their work is done, and a message whose lease lapses or that is nacked comes back
after a backoff, until --max-attempts moves it to the dead letters.`,
	}
	cmd.AddCommand(newQueuesCreateCmd(g), newQueuesListCmd(g), newQueuesStatsCmd(g), newQueuesPeekCmd(g),
		newQueuesDeadCmd(g), newQueuesRedriveCmd(g), newQueuesPurgeCmd(g), newQueuesDeleteCmd(g))
	return cmd
}

func newQueuesCreateCmd(g *globals) *cobra.Command {
	var f queueFlags
	var key string
	cmd := &cobra.Command{
		Use:   "create NAME --kinds KIND,... [--event ID|--product ID] [--max-attempts N] [--retry-delay MIN..MAX] [--retention 7d] [--ordered-by booking]",
		Short: "Create a queue that takes every change of the given kinds as a message",
		Example: `  bookd queues create receipts --kinds booking_confirmed,booking_cancelled,booking_items_cancelled
  bookd queues create payments --kinds booking_confirmed,booking_cancelled,booking_items_cancelled,hold_expired,hold_released \
    --product pr_3 --max-attempts 12 --retry-delay 5s..15m --retention 14d --ordered-by booking`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := f.request(args[0], key)
			if err != nil {
				return err
			}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.CreateQueueResponse, error) {
				return c.Queues().CreateQueue(ctx, req)
			}, func(w io.Writer, res *bookdv1.CreateQueueResponse) {
				queueTable(w, res.GetQueue())
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&key, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

func newQueuesListCmd(g *globals) *cobra.Command {
	var stale bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the queues with their depth, leased messages, dead letters and oldest message's age",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.ListQueuesResponse, error) {
				return c.Queues().ListQueues(ctx, &bookdv1.ListQueuesRequest{Read: staleRead(stale)})
			}, func(w io.Writer, res *bookdv1.ListQueuesResponse) {
				queueTable(w, res.GetQueues()...)
			})
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "let the node that answers serve it from its own, possibly lagging, state")
	return cmd
}

func newQueuesStatsCmd(g *globals) *cobra.Command {
	var stale bool
	cmd := &cobra.Command{
		Use:   "stats NAME",
		Short: "Show a queue and what it has done since it was created",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkQueueName(args[0]); err != nil {
				return err
			}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.GetQueueResponse, error) {
				return c.Queues().GetQueue(ctx, &bookdv1.GetQueueRequest{Queue: args[0], Read: staleRead(stale)})
			}, func(w io.Writer, res *bookdv1.GetQueueResponse) {
				q := res.GetQueue()
				queueTable(w, q)
				s := q.GetStats()
				fmt.Fprintln(w)
				row(w, "ENQUEUED", "DELIVERED", "RETRIED", "ACKED", "DEAD-LETTERED", "EXPIRED", "OLDEST ENQUEUED")
				row(w, s.GetEnqueued(), s.GetDelivered(), s.GetRetried(), s.GetAcked(), s.GetDeadLettered(), s.GetExpired(), ts(s.GetOldestEnqueuedAt()))
			})
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "let the node that answers serve it from its own, possibly lagging, state")
	return cmd
}

// messageFlags page through a queue's messages or dead letters.
type messageFlags struct {
	after string
	limit int32
	stale bool
}

func (m *messageFlags) register(cmd *cobra.Command, what string) {
	f := cmd.Flags()
	f.StringVar(&m.after, "after", "", "start after this message id")
	f.Int32Var(&m.limit, "limit", 100, fmt.Sprintf("%s to show (1 to %d)", what, fsm.MaxReceive))
	f.BoolVar(&m.stale, "stale", false, "let the node that answers serve it from its own, possibly lagging, state")
}

func (m *messageFlags) check(name string) error {
	if err := checkQueueName(name); err != nil {
		return err
	}
	if m.limit < 1 || m.limit > fsm.MaxReceive {
		return usagef("--limit: 1 to %d, got %d", fsm.MaxReceive, m.limit)
	}
	if _, ok := fsm.ParseMessageID(m.after); m.after != "" && !ok {
		return usagef("--after: %q is not a message id (like 12)", m.after)
	}
	return nil
}

func newQueuesPeekCmd(g *globals) *cobra.Command {
	return newQueueMessagesCmd(g, "peek", "List a queue's messages (due, waiting for a retry, or leased) without leasing them", false)
}

func newQueuesDeadCmd(g *globals) *cobra.Command {
	return newQueueMessagesCmd(g, "dead", "List a queue's dead letters with the error each was given up for", true)
}

// newQueueMessagesCmd lists a queue's live messages, or its dead letters.
func newQueueMessagesCmd(g *globals, verb, short string, dead bool) *cobra.Command {
	var m messageFlags
	cmd := &cobra.Command{
		Use:   verb + " NAME [--after ID] [--limit N]",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := m.check(args[0]); err != nil {
				return err
			}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.PeekMessagesResponse, error) {
				if !dead {
					return c.Queues().PeekMessages(ctx, &bookdv1.PeekMessagesRequest{Queue: args[0], AfterId: m.after, Limit: m.limit, Read: staleRead(m.stale)})
				}
				res, err := c.Queues().ListDeadLetters(ctx, &bookdv1.ListDeadLettersRequest{Queue: args[0], AfterId: m.after, Limit: m.limit, Read: staleRead(m.stale)})
				// The same message: {"messages": [...]}.
				return &bookdv1.PeekMessagesResponse{Messages: res.GetMessages()}, err
			}, func(w io.Writer, res *bookdv1.PeekMessagesResponse) {
				messageTable(w, dead, res.GetMessages())
			})
		},
	}
	what := "messages"
	if dead {
		what = "dead letters"
	}
	m.register(cmd, what)
	return cmd
}

func newQueuesRedriveCmd(g *globals) *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "redrive NAME [ID...]",
		Short: "Move dead letters (the ones named, or all) back to the queue with their attempts reset",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkQueueName(args[0]); err != nil {
				return err
			}
			for _, id := range args[1:] {
				if _, ok := fsm.ParseMessageID(id); !ok {
					return usagef("ID: %q is not a message id (like 12; bookd queues dead %s lists them)", id, args[0])
				}
			}
			if len(args)-1 > fsm.MaxRedrivePerCommand {
				return usagef("ID: at most %d a call, got %d", fsm.MaxRedrivePerCommand, len(args)-1)
			}
			req := &bookdv1.RedriveRequest{Queue: args[0], MessageIds: args[1:], IdempotencyKey: key}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.RedriveResponse, error) {
				return c.Queues().Redrive(ctx, req)
			}, func(w io.Writer, res *bookdv1.RedriveResponse) {
				row(w, "QUEUE", "REDRIVEN")
				row(w, args[0], res.GetRedriven())
			})
		},
	}
	cmd.Flags().StringVar(&key, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

func newQueuesPurgeCmd(g *globals) *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "purge NAME",
		Short: "Delete every message and dead letter of a queue; the queue stays",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkQueueName(args[0]); err != nil {
				return err
			}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.PurgeQueueResponse, error) {
				return c.Queues().PurgeQueue(ctx, &bookdv1.PurgeQueueRequest{Queue: args[0], IdempotencyKey: key})
			}, func(w io.Writer, res *bookdv1.PurgeQueueResponse) {
				row(w, "QUEUE", "PURGED")
				row(w, args[0], res.GetPurged())
			})
		},
	}
	cmd.Flags().StringVar(&key, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

func newQueuesDeleteCmd(g *globals) *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a queue with its messages and dead letters",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkQueueName(args[0]); err != nil {
				return err
			}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.DeleteQueueResponse, error) {
				return c.Queues().DeleteQueue(ctx, &bookdv1.DeleteQueueRequest{Queue: args[0], IdempotencyKey: key})
			}, func(w io.Writer, res *bookdv1.DeleteQueueResponse) {
				queueTable(w, res.GetQueue())
			})
		},
	}
	cmd.Flags().StringVar(&key, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

func staleRead(stale bool) *bookdv1.ReadOptions {
	if stale {
		return &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_STALE}
	}
	return nil
}

// checkQueueName refuses a NAME argument that is no queue's name.
func checkQueueName(name string) error {
	if err := fsm.ValidateQueueName("NAME", name); err != nil {
		return usagef("%s", err.Message)
	}
	return nil
}

// queueTable shows queues: definition, state and the oldest message's age.
func queueTable(w io.Writer, qs ...*bookdv1.Queue) {
	row(w, "QUEUE", "KINDS", "SCOPE", "ORDERED", "ATTEMPTS", "RETRY", "RETENTION", "DEPTH", "LEASED", "DEAD", "OLDEST AGE")
	for _, q := range qs {
		ordered := "-"
		if q.GetOrdering() == bookdv1.QueueOrdering_QUEUE_ORDERING_BY_BOOKING {
			ordered = "booking"
		}
		kinds := strings.Join(q.GetKinds(), ",")
		if kinds == "" {
			kinds = "(enqueued only)"
		}
		s := q.GetStats()
		oldest := "-"
		if t := s.GetOldestEnqueuedAt(); t != nil {
			oldest = shortDuration(time.Since(t.AsTime()).Truncate(time.Second))
		}
		row(w, q.GetName(), kinds, orDash(q.GetEventId()+q.GetProductId()), ordered, q.GetMaxAttempts(),
			shortDuration(q.GetRetryMin().AsDuration())+".."+shortDuration(q.GetRetryMax().AsDuration()),
			shortDuration(q.GetRetention().AsDuration()), s.GetDepth(), s.GetLeased(), s.GetDeadLetters(), oldest)
	}
}

// messageTable shows messages or dead letters.
func messageTable(w io.Writer, dead bool, ms []*bookdv1.QueueMessage) {
	when := "VISIBLE"
	if dead {
		when = "DEAD-LETTERED"
	}
	row(w, "ID", "KEY", "CHANGE", "ATTEMPTS", "ENQUEUED", when, "LAST ERROR")
	for _, m := range ms {
		at := m.GetVisibleAt()
		if dead {
			at = m.GetDeadLetteredAt()
		}
		row(w, m.GetId(), m.GetKey(), messageChange(m), m.GetAttempts(), ts(m.GetEnqueuedAt()), ts(at), orDash(oneLine(m.GetLastError(), 60)))
	}
}

// messageChange names what a message reports: the change's kind and its
// booking (else hold, waitlist entry, event), or "-" for an enqueued one.
func messageChange(m *bookdv1.QueueMessage) string {
	c := m.GetChange()
	if c == nil {
		return "-"
	}
	for _, id := range []string{c.GetBookingId(), c.GetHoldId(), c.GetWaitlistEntryId(), c.GetEventId(), c.GetProductId()} {
		if id != "" {
			return c.GetKind() + " " + id
		}
	}
	return c.GetKind()
}

// oneLine shows s on one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
