package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Queue consumers under the nemesis. Two queues take the workload's
// changes (deadQueue some of them): workQueue's consumers ack what they receive (in batches, late,
// or not at all when they "crash" and drop their leases), and deadQueue's
// consumer nacks everything, so that each of its messages is dead-lettered
// after exactly deadAttempts deliveries. Every delivery and every Ack
// outcome is recorded; after the run the queues are drained and
// queuecheck.go holds the record against the committed feed and the
// queues' final state.

const (
	workQueue       = "chaos-work"
	deadQueue       = "chaos-dead"
	queueVisibility = 2 * time.Second // short, so that leases lapse under the faults
	workAttempts    = 100             // the limit: nothing dead-letters by accident
	deadAttempts    = 2
	workConsumers   = 3
	queueCallBudget = 3 * time.Second // how long a consumer retries one Ack or Nack
	nackError       = "chaos: nacked" // what the consumers' Nacks say
)

// The change kinds the queues take: workQueue the booking and hold
// changes, deadQueue (whose every message costs two deliveries and two
// Nacks) the ones a payment worker would refund or void, a subset.
var (
	queueKinds = []string{"booking_confirmed", "booking_cancelled", "hold_created", "hold_released", "hold_expired"}
	deadKinds  = []string{"booking_cancelled", "hold_released"}
)

// leaseResult is what one Ack or Nack attempt did to one lease.
type leaseResult int

const (
	leaseDone      leaseResult = iota // acked (or nacked)
	leaseLapsed                       // LEASE_LAPSED
	leaseGone                         // LEASE_GONE
	leaseUnknown                      // LEASE_UNKNOWN
	leaseAmbiguous                    // no answer: it may or may not have taken effect
)

func (r leaseResult) String() string {
	return [...]string{"ok", fsm.ReasonLeaseLapsed, fsm.ReasonLeaseGone, fsm.ReasonLeaseUnknown, "unknown outcome"}[r]
}

// delivery is one message as a Receive answered it.
type delivery struct {
	queue, consumer string
	id, key, lease  string
	attempt         int32
	change          *bookdv1.Change
	call, ret       time.Time
}

func (d delivery) String() string {
	return fmt.Sprintf("%s to %s %s", d.lease, d.consumer, interval(d.call, d.ret))
}

// leaseOutcome is one lease's fate in one Ack or Nack attempt.
type leaseOutcome struct {
	queue, lease string
	nack         bool
	result       leaseResult
	// afterAmbiguous: an earlier attempt of the same call, naming this
	// lease, had an unknown outcome.
	afterAmbiguous bool
	call, ret      time.Time
}

func (o leaseOutcome) String() string {
	op, retry := "ack", ""
	if o.nack {
		op = "nack"
	}
	if o.afterAmbiguous {
		retry = " (retry after an unknown outcome)"
	}
	return fmt.Sprintf("%s %s: %s%s %s", op, o.lease, o.result, retry, interval(o.call, o.ret))
}

func interval(call, ret time.Time) string {
	return call.Format("15:04:05.000000") + "-" + ret.Format("15:04:05.000000")
}

// pendingAck is an Ack whose every attempt had an unknown outcome: it is
// sent again once the cluster is healed.
type pendingAck struct {
	queue  string
	leases []string
}

// queueRecord is everything the consumers saw.
type queueRecord struct {
	mu           sync.Mutex
	deliveries   []delivery
	outcomes     []leaseOutcome
	pending      []pendingAck
	lostReceives map[string]int // Receive calls with an unknown outcome, by queue
	crashes      map[string]int // consumers that dropped their leases, by queue
	unexpected   []string
}

func (r *queueRecord) fail(format string, args ...any) {
	r.mu.Lock()
	r.unexpected = append(r.unexpected, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// queueRun creates the queues, runs their consumers and drains them.
type queueRun struct {
	nodes func() []string
	http  connect.HTTPClient
	rec   queueRecord
}

func newQueueRun(nc *nodeClients, nodes func() []string) *queueRun {
	return &queueRun{nodes: nodes, http: nc.http,
		rec: queueRecord{lostReceives: map[string]int{}, crashes: map[string]int{}}}
}

// client returns a QueueService client of a random current node (cheap to
// make: the connections are the shared HTTP client's).
func (q *queueRun) client(rnd *rand.Rand) (string, bookdv1connect.QueueServiceClient) {
	nodes := q.nodes()
	addr := nodes[rnd.IntN(len(nodes))]
	return addr, bookdv1connect.NewQueueServiceClient(q.http, "http://"+addr)
}

// queueDefs are the two queues of a run.
func queueDefs() []*bookdv1.Queue {
	month := durationpb.New(fsm.MaxRetention) // nothing is dropped by retention
	return []*bookdv1.Queue{
		{Name: workQueue, Kinds: queueKinds, MaxAttempts: workAttempts, Retention: month,
			RetryMin: durationpb.New(200 * time.Millisecond), RetryMax: durationpb.New(time.Second)},
		{Name: deadQueue, Kinds: deadKinds, MaxAttempts: deadAttempts, Retention: month,
			RetryMin: durationpb.New(100 * time.Millisecond), RetryMax: durationpb.New(100 * time.Millisecond)},
	}
}

// create makes the run's queues, before any change they take can commit.
func (q *queueRun) create(ctx context.Context, seed uint64) error {
	rnd := rand.New(rand.NewPCG(seed, 300))
	for _, def := range queueDefs() {
		req := &bookdv1.CreateQueueRequest{Queue: def, IdempotencyKey: "chaos-queue-" + def.GetName()}
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, c := q.client(rnd)
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := c.CreateQueue(cctx, req)
			cancel()
			a, _ := classifyQueue(err)
			if a == answerOK || connect.CodeOf(err) == connect.CodeAlreadyExists {
				break
			}
			if a == answerUnexpected || time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("create queue %s: %v", def.GetName(), err)
			}
			sleep(ctx, 100*time.Millisecond)
		}
	}
	return nil
}

// classifyQueue reads a QueueService call's error: an answer, a lease
// refusal (with its reason), a shed or an unknown outcome.
func classifyQueue(err error) (answer, string) {
	switch {
	case err == nil:
		return answerOK, ""
	case notSent(err), connect.CodeOf(err) == connect.CodeResourceExhausted: // shed before the log
		return answerRefused, ""
	case connect.CodeOf(err) == connect.CodeFailedPrecondition:
		switch r := client.Reason(err); r {
		case fsm.ReasonLeaseLapsed, fsm.ReasonLeaseGone, fsm.ReasonLeaseUnknown:
			return answerRefused, r
		}
		return answerUnexpected, ""
	}
	return classify(err) // unknown outcomes, or unexpected
}

// notSent reports errors that say the call never reached the log: the
// node refused the connection, or a node answered that it knows no leader
// to forward to, or that it was forwarded the call but does not lead (see
// rpc/route.go). Anything else UNAVAILABLE leaves the outcome unknown.
func notSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	ce := new(connect.Error)
	if !errors.As(err, &ce) || !connect.IsWireError(ce) || ce.Code() != connect.CodeUnavailable {
		return false
	}
	m := ce.Message()
	return strings.HasPrefix(m, "no leader: ") || strings.HasPrefix(m, "forwarded to a node that is no longer the leader") ||
		strings.HasPrefix(m, "leader ") && strings.Contains(m, " has not registered its RPC address")
}

func reasonResult(reason string) leaseResult {
	switch reason {
	case fsm.ReasonLeaseLapsed:
		return leaseLapsed
	case fsm.ReasonLeaseGone:
		return leaseGone
	}
	return leaseUnknown
}

// consume runs the run's consumers until ctx ends.
func (q *queueRun) consume(ctx context.Context, seed uint64) {
	var wg sync.WaitGroup
	for i := range workConsumers + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, uint64(200+i)))
			if i == workConsumers {
				q.nackAll(ctx, rnd, "dead-0")
				return
			}
			q.work(ctx, rnd, fmt.Sprintf("work-%d", i))
		}()
	}
	wg.Wait()
}

// work is one consumer of workQueue: it receives a batch and acks it in
// smaller batches; every tenth batch it crashes mid-batch (acks part of
// it, drops the rest), and every tenth it works so slowly that its leases
// lapse before it acks; now and then it nacks a message.
func (q *queueRun) work(ctx context.Context, rnd *rand.Rand, name string) {
	for batch := 0; ctx.Err() == nil; {
		msgs := q.receive(ctx, rnd, workQueue, name, 1+rnd.IntN(20), time.Duration(100+rnd.IntN(900))*time.Millisecond)
		if len(msgs) == 0 {
			continue
		}
		leases := make([]string, 0, len(msgs))
		for _, m := range msgs {
			if rnd.IntN(30) == 0 {
				q.nack(ctx, rnd, workQueue, m.GetLeaseId())
				continue
			}
			leases = append(leases, m.GetLeaseId())
		}
		batch++
		switch batch % 10 {
		case 9: // crash mid-batch
			leases = leases[:rnd.IntN(len(leases)+1)]
			q.ackInBatches(ctx, rnd, workQueue, leases)
			q.rec.mu.Lock()
			q.rec.crashes[workQueue]++
			q.rec.mu.Unlock()
			sleep(ctx, time.Duration(100+rnd.IntN(400))*time.Millisecond)
		case 4: // slow work: the leases lapse first
			sleep(ctx, queueVisibility+time.Duration(rnd.IntN(1000))*time.Millisecond)
			q.ackInBatches(ctx, rnd, workQueue, leases)
		default:
			sleep(ctx, time.Duration(rnd.IntN(100))*time.Millisecond)
			q.ackInBatches(ctx, rnd, workQueue, leases)
		}
	}
}

// nackAll is deadQueue's consumer: it gives every message back, so each
// is dead-lettered on its second delivery. Now and then it crashes and
// lets the leases lapse instead.
func (q *queueRun) nackAll(ctx context.Context, rnd *rand.Rand, name string) {
	for ctx.Err() == nil {
		msgs := q.receive(ctx, rnd, deadQueue, name, 1+rnd.IntN(20), time.Duration(100+rnd.IntN(900))*time.Millisecond)
		if rnd.IntN(20) == 0 && len(msgs) > 0 {
			q.rec.mu.Lock()
			q.rec.crashes[deadQueue]++
			q.rec.mu.Unlock()
			continue
		}
		leases := make([]string, 0, len(msgs))
		for _, m := range msgs {
			leases = append(leases, m.GetLeaseId())
		}
		q.nackConcurrently(ctx, rnd.Uint64(), deadQueue, leases, 2)
	}
}

// ackInBatches acks leases in one Ack, or now and then two.
func (q *queueRun) ackInBatches(ctx context.Context, rnd *rand.Rand, queue string, leases []string) {
	n := len(leases)
	if rnd.IntN(4) == 0 {
		n = rnd.IntN(len(leases) + 1)
	}
	for _, batch := range [][]string{leases[:n], leases[n:]} {
		if len(batch) > 0 {
			q.ack(ctx, rnd, queue, batch, queueCallBudget, false)
		}
	}
}

// pause is how long a consumer waits before it calls again after a call
// that failed: 50 ms doubled per try, at most a second, jittered. Under
// faults the consumers back off as a worker would, instead of adding to
// the load of a cluster that is electing or catching up.
func pause(rnd *rand.Rand, try int) time.Duration {
	d := min(time.Second, 50*time.Millisecond<<min(try, 5))
	return d/2 + time.Duration(rnd.Int64N(int64(d/2)))
}

// receive leases up to max messages of queue from a random node and
// records them. A Receive without a definite answer is counted: the
// messages it may have leased are delivered again when their lease lapses.
func (q *queueRun) receive(ctx context.Context, rnd *rand.Rand, queue, consumer string, max int, wait time.Duration) []*bookdv1.QueueMessage {
	addr, c := q.client(rnd)
	call := time.Now()
	cctx, cancel := context.WithTimeout(ctx, wait+2*time.Second)
	resp, err := c.Receive(cctx, &bookdv1.ReceiveRequest{Queue: queue, Max: int32(max),
		Visibility: durationpb.New(queueVisibility), WaitTime: durationpb.New(wait)})
	cancel()
	ret := time.Now()
	switch a, _ := classifyQueue(err); a {
	case answerOK:
	case answerAmbiguous:
		q.rec.mu.Lock()
		q.rec.lostReceives[queue]++
		q.rec.mu.Unlock()
		sleep(ctx, pause(rnd, 2))
		return nil
	case answerRefused:
		sleep(ctx, pause(rnd, 2))
		return nil
	default:
		if ctx.Err() == nil {
			q.rec.fail("queue %s: %s: Receive on %s: %v", queue, consumer, addr, err)
		}
		sleep(ctx, 100*time.Millisecond)
		return nil
	}
	q.rec.mu.Lock()
	defer q.rec.mu.Unlock()
	for _, m := range resp.GetMessages() {
		q.rec.deliveries = append(q.rec.deliveries, delivery{queue: queue, consumer: consumer,
			id: m.GetId(), key: m.GetKey(), lease: m.GetLeaseId(), attempt: m.GetAttempts(),
			change: m.GetChange(), call: call, ret: ret})
	}
	return resp.GetMessages()
}

// ack acks leases, trying again on another node while the outcome is
// unknown, for up to budget; an Ack still unknown then is kept pending.
// Every lease's outcome of every attempt is recorded; ambiguous says an
// earlier call of the same Ack had an unknown outcome.
func (q *queueRun) ack(ctx context.Context, rnd *rand.Rand, queue string, leases []string, budget time.Duration, ambiguous bool) {
	deadline := time.Now().Add(budget)
	for try := 0; ctx.Err() == nil && time.Now().Before(deadline); try++ {
		addr, c := q.client(rnd)
		call := time.Now()
		cctx, cancel := context.WithTimeout(ctx, min(2*time.Second, time.Until(deadline)+time.Millisecond))
		resp, err := c.Ack(cctx, &bookdv1.AckRequest{Queue: queue, LeaseIds: leases})
		cancel()
		ret := time.Now()
		record := func(lease string, r leaseResult) {
			q.rec.outcomes = append(q.rec.outcomes, leaseOutcome{queue: queue, lease: lease, result: r,
				afterAmbiguous: ambiguous, call: call, ret: ret})
		}
		a, reason := classifyQueue(err)
		q.rec.mu.Lock()
		switch {
		case a == answerOK:
			failed := map[string]leaseResult{}
			for _, f := range resp.GetFailures() {
				failed[f.GetLeaseId()] = reasonResult(f.GetReason())
			}
			for _, l := range leases {
				r, ok := failed[l]
				if !ok {
					r = leaseDone
				}
				record(l, r)
			}
		case a == answerRefused && reason != "" && len(leases) == 1:
			record(leases[0], reasonResult(reason))
		case a == answerAmbiguous:
			for _, l := range leases {
				record(l, leaseAmbiguous)
			}
		}
		q.rec.mu.Unlock()
		switch a {
		case answerOK:
			return
		case answerRefused:
			if reason != "" {
				if len(leases) != 1 {
					q.rec.fail("queue %s: Ack of %d leases on %s refused whole: %v", queue, len(leases), addr, err)
				}
				return
			}
		case answerAmbiguous:
			ambiguous = true
		default:
			if ctx.Err() == nil {
				q.rec.fail("queue %s: Ack %v on %s: %v", queue, leases, addr, err)
			}
			return
		}
		sleep(ctx, pause(rnd, try))
	}
	if ambiguous {
		q.rec.mu.Lock()
		q.rec.pending = append(q.rec.pending, pendingAck{queue: queue, leases: leases})
		q.rec.mu.Unlock()
	}
}

// nack gives a lease back with the queue's backoff, trying again while the
// outcome is unknown. Its outcome is recorded; the checks need only know
// that it is no ack.
func (q *queueRun) nack(ctx context.Context, rnd *rand.Rand, queue, lease string) {
	deadline := time.Now().Add(queueCallBudget)
	ambiguous := false
	for try := 0; ctx.Err() == nil && time.Now().Before(deadline); try++ {
		addr, c := q.client(rnd)
		call := time.Now()
		cctx, cancel := context.WithTimeout(ctx, min(2*time.Second, time.Until(deadline)+time.Millisecond))
		_, err := c.Nack(cctx, &bookdv1.NackRequest{Queue: queue, LeaseId: lease, Error: nackError})
		cancel()
		a, reason := classifyQueue(err)
		r := leaseAmbiguous
		switch {
		case a == answerOK:
			r = leaseDone
		case a == answerRefused && reason != "":
			r = reasonResult(reason)
		case a == answerUnexpected:
			if ctx.Err() == nil {
				q.rec.fail("queue %s: Nack %s on %s: %v", queue, lease, addr, err)
			}
			return
		}
		q.rec.mu.Lock()
		if a != answerRefused || reason != "" {
			q.rec.outcomes = append(q.rec.outcomes, leaseOutcome{queue: queue, lease: lease, nack: true, result: r,
				afterAmbiguous: ambiguous, call: call, ret: time.Now()})
		}
		q.rec.mu.Unlock()
		if a == answerOK || reason != "" {
			return
		}
		ambiguous = ambiguous || a == answerAmbiguous
		sleep(ctx, pause(rnd, try))
	}
}

// save writes every delivery and lease outcome, in the order they
// happened, for a failed run's evidence.
func (r *queueRecord) save(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	type line struct {
		at   time.Time
		text string
	}
	var lines []line
	for _, d := range r.deliveries {
		lines = append(lines, line{d.call, fmt.Sprintf("%s %s: %s change %v", d.queue, d.key, d, d.change)})
	}
	for _, o := range r.outcomes {
		lines = append(lines, line{o.call, o.queue + " " + o.String()})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text + "\n")
	}
	for q, n := range r.lostReceives {
		fmt.Fprintf(&b, "%s: %d Receives of unknown outcome\n", q, n)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
