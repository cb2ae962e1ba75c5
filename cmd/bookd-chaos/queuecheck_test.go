package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// The queue checks against made-up runs: each case breaks one promise (or
// none) and must be reported as exactly the problems it names.
func TestCheckQueues(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	change := func(cursor, kind, hold string) *bookdv1.Change {
		return &bookdv1.Change{Cursor: cursor, Kind: kind, HoldId: hold, EventId: "ev_1"}
	}
	// Changes of kinds both queues take, and one only workQueue takes.
	feed := []*bookdv1.Change{change("10-0", "hold_released", "hd_10"), change("12-0", "booking_cancelled", "hd_11"), change("13-0", "hold_created", "hd_13")}
	deliver := func(queue string, c *bookdv1.Change, id, attempt string, ms int) delivery {
		n := int32(attempt[0] - '0')
		return delivery{queue: queue, consumer: "t", id: id, key: queue + ":" + c.GetCursor(),
			lease: id + "." + attempt, attempt: n, change: c, call: at(ms), ret: at(ms + 5)}
	}
	ack := func(lease string, r leaseResult, retry bool, ms int) leaseOutcome {
		return leaseOutcome{queue: workQueue, lease: lease, result: r, afterAmbiguous: retry, call: at(ms), ret: at(ms + 5)}
	}
	nack := func(lease string, ms int) leaseOutcome {
		return leaseOutcome{queue: deadQueue, lease: lease, nack: true, result: leaseDone, call: at(ms), ret: at(ms + 5)}
	}
	deadLetter := func(c *bookdv1.Change, id string, attempts int32, why string) *bookdv1.QueueMessage {
		return &bookdv1.QueueMessage{Id: id, Queue: deadQueue, Key: deadQueue + ":" + c.GetCursor(), Change: c, Attempts: attempts, LastError: why}
	}
	// A run where every promise holds: the first message is acked after a
	// lapse, the second by an Ack of unknown outcome found gone on retry;
	// the third (a kind only the work queue takes) at once; the dead
	// queue's first message is nacked twice, the second lapsed twice,
	// unseen.
	good := func() (*queueRecord, map[string]queueFinal) {
		rec := &queueRecord{lostReceives: map[string]int{deadQueue: 1}, crashes: map[string]int{}}
		rec.deliveries = []delivery{
			deliver(workQueue, feed[0], "1", "1", 0),
			deliver(workQueue, feed[0], "1", "2", 3000),
			deliver(workQueue, feed[1], "2", "1", 100),
			deliver(deadQueue, feed[0], "1", "1", 0),
			deliver(deadQueue, feed[0], "1", "2", 500),
			deliver(workQueue, feed[2], "3", "1", 200),
		}
		rec.outcomes = []leaseOutcome{
			ack("1.1", leaseLapsed, false, 3100),
			ack("1.2", leaseDone, false, 3200),
			ack("2.1", leaseAmbiguous, false, 200),
			ack("2.1", leaseGone, true, 2300),
			nack("1.1", 100),
			nack("1.2", 600),
			ack("3.1", leaseDone, false, 300),
		}
		finals := map[string]queueFinal{
			workQueue: {stats: &bookdv1.QueueStats{Enqueued: 3, Acked: 3, Delivered: 4}},
			deadQueue: {stats: &bookdv1.QueueStats{Enqueued: 2, DeadLettered: 2, DeadLetters: 2, Delivered: 4},
				dead: []*bookdv1.QueueMessage{deadLetter(feed[0], "1", 2, nackError), deadLetter(feed[1], "2", 2, "lease of delivery 2 of 2 lapsed")}},
		}
		return rec, finals
	}
	for _, tc := range []struct {
		name   string
		breaks func(rec *queueRecord, finals map[string]queueFinal) []*bookdv1.Change
		want   []string // problems, by the words that name them
	}{
		{name: "all promises kept"},
		{
			name: "acked twice",
			breaks: func(rec *queueRecord, _ map[string]queueFinal) []*bookdv1.Change {
				rec.outcomes[0].result = leaseDone
				return feed
			},
			want: []string{"ACKED MORE THAN ONCE"},
		},
		{
			name: "delivered after its ack",
			breaks: func(rec *queueRecord, _ map[string]queueFinal) []*bookdv1.Change {
				rec.outcomes[0] = ack("1.1", leaseDone, false, 100)
				rec.outcomes[1] = ack("1.2", leaseGone, false, 3200)
				return feed
			},
			want: []string{"DELIVERED AGAIN AFTER AN ACK OF IT SUCCEEDED"},
		},
		{
			name: "gone without an ack of unknown outcome",
			breaks: func(rec *queueRecord, _ map[string]queueFinal) []*bookdv1.Change {
				rec.outcomes[3].afterAmbiguous = false
				return feed
			},
			want: []string{"NEVER ACKED"},
		},
		{
			name: "an uncommitted change delivered",
			breaks: func(_ *queueRecord, finals map[string]queueFinal) []*bookdv1.Change {
				finals[workQueue].stats.Enqueued, finals[workQueue].stats.Acked = 1, 1
				finals[deadQueue].stats.Enqueued, finals[deadQueue].stats.DeadLettered = 1, 1
				return feed[:1]
			},
			want: []string{"DELIVERED A CHANGE THAT IS NOT IN THE COMMITTED FEED", "DEAD LETTER OF A CHANGE THAT IS NOT IN THE COMMITTED FEED"},
		},
		{
			name: "a committed change never delivered",
			breaks: func(rec *queueRecord, _ map[string]queueFinal) []*bookdv1.Change {
				rec.deliveries = slices.Delete(rec.deliveries, 2, 3)
				rec.outcomes = slices.Delete(rec.outcomes, 2, 4)
				return feed
			},
			want: []string{"COMMITTED CHANGE NEVER DELIVERED"},
		},
		{
			name: "a change delivered other than committed",
			breaks: func(rec *queueRecord, _ map[string]queueFinal) []*bookdv1.Change {
				rec.deliveries[1].change = change("10-0", "hold_created", "hd_11")
				return feed
			},
			want: []string{"DELIVERED A CHANGE OTHER THAN THE FEED'S"},
		},
		{
			name: "a lease handed out twice",
			breaks: func(rec *queueRecord, _ map[string]queueFinal) []*bookdv1.Change {
				rec.deliveries[1] = rec.deliveries[0]
				return feed
			},
			want: []string{"LEASE HANDED OUT TWICE", "NEVER ACKED", "ACKED A LEASE NO RECEIVE GAVE"},
		},
		{
			name: "dead-lettered after one delivery",
			breaks: func(_ *queueRecord, finals map[string]queueFinal) []*bookdv1.Change {
				finals[deadQueue].dead[0].Attempts = 1
				return feed
			},
			want: []string{"DEAD-LETTERED AFTER A NUMBER OF DELIVERIES OTHER THAN max_attempts"},
		},
		{
			name: "dead-lettered by a nack no consumer sent",
			breaks: func(_ *queueRecord, finals map[string]queueFinal) []*bookdv1.Change {
				finals[deadQueue].dead[1].LastError = nackError
				return feed
			},
			want: []string{"DEAD-LETTERED BY A NACK NO CONSUMER SENT"},
		},
		{
			name: "a nacked message unseen with no Receive lost",
			breaks: func(rec *queueRecord, _ map[string]queueFinal) []*bookdv1.Change {
				rec.lostReceives = map[string]int{}
				return feed
			},
			want: []string{"COMMITTED CHANGE NEVER DELIVERED"},
		},
		{
			name: "stats that do not add up",
			breaks: func(_ *queueRecord, finals map[string]queueFinal) []*bookdv1.Change {
				finals[workQueue].stats.Depth, finals[workQueue].stats.Enqueued = 1, 4
				return feed
			},
			want: []string{"NOT EMPTY AFTER THE DRAIN", "STATS DO NOT ADD UP", "ENQUEUED OTHER THAN THE FEED'S CHANGES"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, finals := good()
			f := feed
			if tc.breaks != nil {
				f = tc.breaks(rec, finals)
			}
			sums, bad := checkQueues(rec, f, finals)
			if len(bad) != len(tc.want) {
				t.Fatalf("got %d problems, want %d (%v):\n%s", len(bad), len(tc.want), tc.want, strings.Join(bad, "\n"))
			}
			for _, w := range tc.want {
				found := false
				for _, b := range bad {
					found = found || strings.Contains(b, w)
				}
				if !found {
					t.Errorf("no problem says %q:\n%s", w, strings.Join(bad, "\n"))
				}
			}
			if tc.breaks == nil && (sums[0].AckedUnknown != 1 || sums[1].Unseen != 1) {
				t.Errorf("summaries %+v, want one message acked by an Ack of unknown outcome and one dead letter unseen", sums)
			}
		})
	}
}

// ackStub answers every Ack with the error it is given.
type ackStub struct {
	bookdv1connect.UnimplementedQueueServiceHandler
	err error
}

func (s ackStub) Ack(context.Context, *bookdv1.AckRequest) (*bookdv1.AckResponse, error) {
	return nil, s.err
}

// What the consumers make of an Ack's errors: a lease refusal, a call that
// never reached the log (retried, not counted as an unknown outcome), an
// unknown outcome, or an answer no correct cluster gives.
func TestClassifyQueue(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := refused.Addr().String()
	refused.Close()
	gone := connect.NewError(connect.CodeFailedPrecondition, errors.New("lease 3.1: message 3 was acked"))
	gone.Meta().Set("Bookd-Reason", fsm.ReasonLeaseGone)
	for _, tc := range []struct {
		name   string
		err    error // the node's answer; nil: no node listens
		answer answer
		reason string
	}{
		{"connection refused", nil, answerRefused, ""},
		{"no leader", connect.NewError(connect.CodeUnavailable, errors.New("no leader: the cluster is electing one or has no quorum; retry")), answerRefused, ""},
		{"forwarded to a follower", connect.NewError(connect.CodeUnavailable, errors.New("forwarded to a node that is no longer the leader; retry")), answerRefused, ""},
		{"leader without an address", connect.NewError(connect.CodeUnavailable, errors.New("leader n4 has not registered its RPC address yet; retry")), answerRefused, ""},
		{"shed", connect.NewError(connect.CodeResourceExhausted, errors.New("busy")), answerRefused, ""},
		{"lease gone", gone, answerRefused, fsm.ReasonLeaseGone},
		{"raft unavailable", connect.NewError(connect.CodeUnavailable, errors.New("cluster unavailable, the outcome is unknown; retry with the same idempotency_key: timeout")), answerAmbiguous, ""},
		{"forward broke", connect.NewError(connect.CodeUnavailable, errors.New("forward to leader (outcome unknown; retry with the same idempotency key): EOF")), answerAmbiguous, ""},
		{"internal", connect.NewError(connect.CodeInternal, errors.New("boom")), answerUnexpected, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := closed
			if tc.err != nil {
				_, h := bookdv1connect.NewQueueServiceHandler(ackStub{err: tc.err})
				srv := httptest.NewServer(h)
				defer srv.Close()
				addr = strings.TrimPrefix(srv.URL, "http://")
			}
			c := bookdv1connect.NewQueueServiceClient(http.DefaultClient, "http://"+addr)
			_, err := c.Ack(context.Background(), &bookdv1.AckRequest{Queue: workQueue, LeaseIds: []string{"3.1"}})
			if a, r := classifyQueue(err); a != tc.answer || r != tc.reason {
				t.Errorf("classifyQueue(%v) = %d %q, want %d %q", err, a, r, tc.answer, tc.reason)
			}
		})
	}
}
