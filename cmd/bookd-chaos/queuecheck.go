package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// What the queues promise, checked after the drain against the committed
// feed and the queues' final state in a stopped node's store:
//
//   - every committed change of a queue's kinds is exactly one message of
//     the queue, keyed "<queue>:<cursor>", delivered at least once, with
//     the change as the feed has it; no delivered message names a change
//     that is not in the committed feed; message ids follow commit order;
//   - no lease is handed out twice, and no message is delivered again
//     after an Ack of it succeeded;
//   - every message of workQueue was acked exactly once: by one Ack that
//     succeeded, or, where none did, by an Ack whose outcome was unknown
//     and whose retry found the lease gone; none is dead-lettered;
//   - every message of deadQueue (whose consumer nacks everything) is
//     dead-lettered after exactly deadAttempts deliveries, and none is
//     acked;
//   - the final stats agree: depth 0, nothing leased, acked + dead_lettered
//     == enqueued == the feed's changes of the queue's kinds, nothing
//     dropped by retention.

// queueFinal is a queue's state in a stopped node's store.
type queueFinal struct {
	stats      *bookdv1.QueueStats
	live, dead []*bookdv1.QueueMessage
}

// queueSummary is what a run did with one queue, for the report.
type queueSummary struct {
	Name         string
	Messages     int // changes of the queue's kinds in the committed feed
	Deliveries   int // seen by the consumers
	LostReceives int // Receives with an unknown outcome
	Crashes      int // consumers that dropped their leases
	Results      map[leaseResult]int
	AckedUnknown int // messages acked by an Ack of unknown outcome (LEASE_GONE on retry)
	Unseen       int // dead letters delivered only by Receives whose answer was lost
	DeadLetters  int
}

// readQueueStore reads the changes of the queues' kinds (queueKinds, which
// hold deadKinds) from the committed feed of a stopped node's store, and
// the queues' final state.
func readQueueStore(dir string) ([]*bookdv1.Change, map[string]queueFinal, error) {
	f, err := fsm.Open(filepath.Join(dir, "fsm"), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	defer f.Close()
	var feed []*bookdv1.Change
	var lastIndex uint64
	var lastSeq uint32
	for more := true; more; {
		var page []*fsm.Change
		page, more, err = f.Changes(lastIndex, lastSeq, 1000)
		if err != nil {
			return nil, nil, fmt.Errorf("read feed of %s: %w", dir, err)
		}
		for _, c := range page {
			lastIndex, lastSeq = c.GetIndex(), c.GetSeq()
			if slices.Contains(queueKinds, c.GetKind()) {
				feed = append(feed, fsm.PublicChange(c))
			}
		}
	}
	finals := map[string]queueFinal{}
	for _, def := range queueDefs() {
		name := def.GetName()
		q, err := f.Queue(name)
		if err != nil {
			return nil, nil, fmt.Errorf("queue %s in %s: %w", name, dir, err)
		}
		fin := queueFinal{stats: q.GetStats()}
		for _, dead := range []bool{false, true} {
			after := ""
			for {
				page, err := f.QueueMessages(name, after, 1000, dead)
				if err != nil {
					return nil, nil, fmt.Errorf("messages of queue %s in %s: %w", name, dir, err)
				}
				if len(page) == 0 {
					break
				}
				after = page[len(page)-1].GetId()
				if dead {
					fin.dead = append(fin.dead, page...)
				} else {
					fin.live = append(fin.live, page...)
				}
			}
		}
		finals[name] = fin
	}
	return feed, finals, nil
}

// checkQueues checks both queues; see the top of this file.
func checkQueues(rec *queueRecord, feed []*bookdv1.Change, finals map[string]queueFinal) ([]queueSummary, []string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var sums []queueSummary
	bad := append([]string(nil), rec.unexpected...)
	for _, def := range queueDefs() {
		name := def.GetName()
		var ds []delivery
		for _, d := range rec.deliveries {
			if d.queue == name {
				ds = append(ds, d)
			}
		}
		var outs []leaseOutcome
		for _, o := range rec.outcomes {
			if o.queue == name {
				outs = append(outs, o)
			}
		}
		var changes []*bookdv1.Change
		for _, ch := range feed {
			if slices.Contains(def.GetKinds(), ch.GetKind()) {
				changes = append(changes, ch)
			}
		}
		c := queueCheck{name: name, nacking: name == deadQueue, lost: rec.lostReceives[name]}
		s, b := c.check(ds, outs, changes, finals[name])
		s.Crashes = rec.crashes[name]
		sums = append(sums, s)
		bad = append(bad, b...)
	}
	return sums, bad
}

// queueCheck checks one queue.
type queueCheck struct {
	name    string
	nacking bool // its consumer nacks everything: each message dead-letters
	lost    int  // Receives with an unknown outcome

	problems map[string][]string // kind of problem → the messages it names
	order    []string
}

// message is one change's message as the run saw it.
type message struct {
	key, id    string
	deliveries []delivery
	outcomes   []leaseOutcome
}

func (c *queueCheck) problem(kind, format string, args ...any) {
	if c.problems == nil {
		c.problems = map[string][]string{}
	}
	if _, ok := c.problems[kind]; !ok {
		c.order = append(c.order, kind)
	}
	c.problems[kind] = append(c.problems[kind], fmt.Sprintf(format, args...))
}

func (c *queueCheck) check(ds []delivery, outs []leaseOutcome, feed []*bookdv1.Change, fin queueFinal) (queueSummary, []string) {
	sum := queueSummary{Name: c.name, Messages: len(feed), Deliveries: len(ds), LostReceives: c.lost,
		Results: map[leaseResult]int{}, DeadLetters: len(fin.dead)}
	inFeed := map[string]*bookdv1.Change{}
	for _, ch := range feed {
		inFeed[ch.GetCursor()] = ch
	}
	msgs := map[string]*message{} // by key
	keyOfID := map[string]string{}
	keyOfLease := map[string]string{}
	for _, d := range ds {
		cursor := d.change.GetCursor()
		switch fc, ok := inFeed[cursor]; {
		case d.change == nil:
			c.problem("DELIVERED A MESSAGE WITHOUT ITS CHANGE", "%s (id %s, lease %s)", d.key, d.id, d.lease)
		case !ok:
			c.problem("DELIVERED A CHANGE THAT IS NOT IN THE COMMITTED FEED", "%s: %v", d.key, d.change)
		case !proto.Equal(fc, d.change):
			c.problem("DELIVERED A CHANGE OTHER THAN THE FEED'S", "%s: delivered %v, feed has %v", d.key, d.change, fc)
		}
		if want := c.name + ":" + cursor; d.key != want {
			c.problem("MESSAGE KEY IS NOT <queue>:<cursor>", "%s, want %s", d.key, want)
		}
		if want := d.id + "." + strconv.Itoa(int(d.attempt)); d.lease != want {
			c.problem("LEASE DOES NOT NAME ITS MESSAGE AND DELIVERY", "%s: lease %s, want %s", d.key, d.lease, want)
		}
		if _, ok := keyOfLease[d.lease]; ok {
			c.problem("LEASE HANDED OUT TWICE", "%s: lease %s", d.key, d.lease)
		}
		keyOfLease[d.lease] = d.key
		if k, ok := keyOfID[d.id]; ok && k != d.key {
			c.problem("ONE MESSAGE ID FOR TWO CHANGES", "id %s: %s and %s", d.id, k, d.key)
		}
		keyOfID[d.id] = d.key
		m := msgs[d.key]
		if m == nil {
			m = &message{key: d.key, id: d.id}
			msgs[d.key] = m
		} else if m.id != d.id {
			c.problem("TWO MESSAGES FOR ONE CHANGE", "%s: ids %s and %s", d.key, m.id, d.id)
		}
		m.deliveries = append(m.deliveries, d)
		if c.nacking && d.attempt > deadAttempts {
			c.problem("DELIVERED MORE THAN max_attempts TIMES", "%s: delivery %d of at most %d", d.key, d.attempt, deadAttempts)
		}
	}
	for _, o := range outs {
		sum.Results[o.result]++
		key, ok := keyOfLease[o.lease]
		if !ok {
			c.problem("ACKED A LEASE NO RECEIVE GAVE", "lease %s", o.lease)
			continue
		}
		if o.result == leaseUnknown {
			c.problem("LEASE_UNKNOWN FOR A LEASE THE QUEUE GAVE OUT", "%s: lease %s", key, o.lease)
		}
		msgs[key].outcomes = append(msgs[key].outcomes, o)
	}
	c.checkOrder(msgs)

	deadByKey := map[string]*bookdv1.QueueMessage{}
	for _, m := range fin.dead {
		deadByKey[m.GetKey()] = m
		if _, ok := inFeed[m.GetChange().GetCursor()]; !ok {
			c.problem("DEAD LETTER OF A CHANGE THAT IS NOT IN THE COMMITTED FEED", "%s (id %s)", m.GetKey(), m.GetId())
		}
	}
	for _, ch := range feed {
		key := c.name + ":" + ch.GetCursor()
		m, dead := msgs[key], deadByKey[key]
		switch {
		case m == nil && c.nacking && dead != nil && c.lost > 0:
			sum.Unseen++ // delivered, by Receives whose answers were lost
			m = &message{key: key}
		case m == nil:
			c.problem("COMMITTED CHANGE NEVER DELIVERED", "%s (%s %s)", key, ch.GetKind(), changeSubject(ch))
			continue
		}
		if c.nacking {
			c.checkDeadLettered(m, dead)
		} else {
			sum.AckedUnknown += c.checkAckedOnce(m, dead)
		}
	}
	c.checkStats(fin, len(feed), len(ds))

	var bad []string
	for _, kind := range c.order {
		list := c.problems[kind]
		shown := list[:min(5, len(list))]
		more := ""
		if len(list) > len(shown) {
			more = fmt.Sprintf("; and %d more", len(list)-len(shown))
		}
		bad = append(bad, fmt.Sprintf("QUEUE %s: %s: %d: %s%s", c.name, kind, len(list), strings.Join(shown, "; "), more))
	}
	return sum, bad
}

// checkAckedOnce checks a workQueue message: acked exactly once, not
// dead-lettered, never delivered after its Ack. It returns 1 when the
// message was acked by an Ack of unknown outcome.
func (c *queueCheck) checkAckedOnce(m *message, dead *bookdv1.QueueMessage) int {
	if dead != nil {
		c.problem("DEAD-LETTERED ON A QUEUE THAT ACKS", "%s after %d deliveries (%s): %s", m.key, dead.GetAttempts(), dead.GetLastError(), m)
	}
	var done []leaseOutcome
	settled := false
	for _, o := range m.outcomes {
		switch {
		case o.nack:
		case o.result == leaseDone:
			done = append(done, o)
		case o.result == leaseGone && o.afterAmbiguous:
			settled = true
		}
	}
	switch {
	case len(done) > 1:
		c.problem("ACKED MORE THAN ONCE", "%s", m)
	case len(done) == 0 && !settled && dead == nil:
		c.problem("NEVER ACKED (no Ack succeeded, none of unknown outcome was found gone)", "%s", m)
	}
	if len(done) > 0 {
		for _, d := range m.deliveries {
			if d.call.After(done[0].ret) {
				c.problem("DELIVERED AGAIN AFTER AN ACK OF IT SUCCEEDED", "%s", m)
				break
			}
		}
	}
	if len(done) == 0 && settled {
		return 1
	}
	return 0
}

// checkDeadLettered checks a deadQueue message: dead-lettered after
// exactly deadAttempts deliveries, never acked.
func (c *queueCheck) checkDeadLettered(m *message, dead *bookdv1.QueueMessage) {
	switch {
	case dead == nil:
		c.problem("NOT DEAD-LETTERED ON A QUEUE WHOSE CONSUMER NACKS EVERYTHING", "%s", m)
	case dead.GetAttempts() != deadAttempts:
		c.problem("DEAD-LETTERED AFTER A NUMBER OF DELIVERIES OTHER THAN max_attempts", "%s after %d deliveries (%s)", m, dead.GetAttempts(), dead.GetLastError())
	case dead.GetLastError() == nackError:
		// Dead-lettered by a Nack: of the last delivery, which a consumer
		// saw (it nacks only what it received).
		sent := false
		for _, o := range m.outcomes {
			sent = sent || o.nack && o.lease == m.id+"."+strconv.Itoa(deadAttempts)
		}
		if !sent {
			c.problem("DEAD-LETTERED BY A NACK NO CONSUMER SENT", "%s (%s)", m, dead.GetLastError())
		}
	}
	for _, o := range m.outcomes {
		if !o.nack && o.result == leaseDone {
			c.problem("ACKED ON A QUEUE THAT IS NEVER ACKED", "%s", m)
		}
	}
}

// checkOrder checks that message ids follow the changes' commit order.
func (c *queueCheck) checkOrder(msgs map[string]*message) {
	type pair struct {
		id     uint64
		cursor [2]uint64
		key    string
	}
	var ps []pair
	for _, m := range msgs {
		id, _ := strconv.ParseUint(m.id, 10, 64)
		ps = append(ps, pair{id, parseCursor(m.deliveries[0].change.GetCursor()), m.key})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].id < ps[j].id })
	for i := 1; i < len(ps); i++ {
		a, b := ps[i-1], ps[i]
		if a.cursor[0] > b.cursor[0] || a.cursor[0] == b.cursor[0] && a.cursor[1] >= b.cursor[1] {
			c.problem("MESSAGE IDS NOT IN COMMIT ORDER", "id %d is %s, id %d is %s", a.id, a.key, b.id, b.key)
		}
	}
}

func (c *queueCheck) checkStats(fin queueFinal, changes, deliveries int) {
	s := fin.stats
	switch {
	case s == nil:
		c.problem("NO FINAL STATS", "the store has no queue %s", c.name)
		return
	case s.GetDepth() != 0 || s.GetLeased() != 0 || len(fin.live) > 0:
		c.problem("NOT EMPTY AFTER THE DRAIN", "depth %d, leased %d, %d live messages", s.GetDepth(), s.GetLeased(), len(fin.live))
	}
	if s.GetAcked()+s.GetDeadLettered() != s.GetEnqueued() {
		c.problem("STATS DO NOT ADD UP", "acked %d + dead_lettered %d != enqueued %d", s.GetAcked(), s.GetDeadLettered(), s.GetEnqueued())
	}
	if s.GetEnqueued() != int64(changes) {
		c.problem("ENQUEUED OTHER THAN THE FEED'S CHANGES OF ITS KINDS", "enqueued %d, the feed has %d", s.GetEnqueued(), changes)
	}
	if s.GetExpired() != 0 {
		c.problem("MESSAGES DROPPED BY RETENTION", "%d expired", s.GetExpired())
	}
	if s.GetDeadLetters() != int64(len(fin.dead)) {
		c.problem("DEAD LETTERS MISCOUNTED", "stats say %d, the store lists %d", s.GetDeadLetters(), len(fin.dead))
	}
	if s.GetDelivered() < int64(deliveries) {
		c.problem("FEWER DELIVERIES COUNTED THAN SEEN", "stats say %d, consumers saw %d", s.GetDelivered(), deliveries)
	}
	if c.nacking && s.GetAcked() != 0 {
		c.problem("ACKED ON A QUEUE THAT IS NEVER ACKED", "stats say %d acked", s.GetAcked())
	}
	if !c.nacking && s.GetDeadLettered() != 0 {
		c.problem("DEAD-LETTERED ON A QUEUE THAT ACKS", "stats say %d dead-lettered", s.GetDeadLettered())
	}
}

// String is the message's story: its deliveries and what became of each
// lease, the evidence an anomaly names.
func (m *message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (id %s): delivered", m.key, m.id)
	if len(m.deliveries) == 0 {
		b.WriteString(" unseen")
	}
	for _, d := range m.deliveries {
		fmt.Fprintf(&b, " [%s]", d)
	}
	b.WriteString("; outcomes")
	if len(m.outcomes) == 0 {
		b.WriteString(" none")
	}
	for _, o := range m.outcomes {
		fmt.Fprintf(&b, " [%s]", o)
	}
	return b.String()
}

func parseCursor(s string) [2]uint64 {
	a, b, _ := strings.Cut(s, "-")
	i, _ := strconv.ParseUint(a, 10, 64)
	j, _ := strconv.ParseUint(b, 10, 64)
	return [2]uint64{i, j}
}

// changeSubject names what a change is about.
func changeSubject(c *bookdv1.Change) string {
	switch {
	case c.GetBookingId() != "":
		return c.GetBookingId()
	case c.GetHoldId() != "":
		return c.GetHoldId()
	}
	return c.GetEventId()
}

func (s queueSummary) print(w io.Writer) {
	fmt.Fprintf(w, "queue %s: %d messages (the feed's changes of its kinds), %d deliveries seen (%d Receives of unknown outcome), %d consumer crashes, %d dead letters\n",
		s.Name, s.Messages, s.Deliveries, s.LostReceives, s.Crashes, s.DeadLetters)
	var parts []string
	for r := leaseDone; r <= leaseAmbiguous; r++ {
		parts = append(parts, fmt.Sprintf("%s %d", r, s.Results[r]))
	}
	fmt.Fprintf(w, "  lease outcomes of Ack and Nack: %s; acked by an Ack of unknown outcome: %d; dead letters never seen delivered: %d\n",
		strings.Join(parts, ", "), s.AckedUnknown, s.Unseen)
}
