package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The etcd target keeps an event under /ev/<id>/:
//
//	kind              "ga" or "seated"
//	name              the inventory's name
//	cap               GA capacity, or the number of seats
//	sold              GA tickets taken by bookings and holds (GA only)
//	seat/<label>      "" when free, the booking key when sold, "hold:<key>" when held
//	booking/<key>     etcdRecord JSON of a confirmed booking
//	hold/<key>        etcdRecord JSON of a hold not yet confirmed
//
// The event id is the revision of the write that allocated it.

const (
	// etcdSeatChunk is how many seats Prepare writes per transaction: etcd's
	// default --max-txn-ops, so it also works on a cluster we did not start.
	etcdSeatChunk = 128
	// etcdPrepareWriters is how many seat chunks Prepare writes at once.
	etcdPrepareWriters = 8
	// etcdAuditPage is how many keys Audit reads per request.
	etcdAuditPage = 1000
	// etcdCallersPerClient is how many concurrent callers share one client
	// (one gRPC connection per endpoint); at most etcdMaxClients are made.
	etcdCallersPerClient = 32
	etcdMaxClients       = 4
)

// etcdRecord is what a booking or hold key holds.
type etcdRecord struct {
	Customer string   `json:"customer"`
	Quantity int64    `json:"qty"`
	Seats    []string `json:"seats,omitempty"`
}

// etcdTarget books on an etcd cluster the way an etcd user would: GA tickets
// by compare-and-swap on one counter key, seats by one transaction that
// compares every seat key.
type etcdTarget struct {
	clients []*clientv3.Client
	next    atomic.Uint64
	kinds   sync.Map // event id -> "ga" or "seated"
	caps    sync.Map // GA event id -> capacity (int64); it never changes
}

// newEtcdTarget connects to the etcd cluster at endpoints (client URLs) for
// clients concurrent callers.
func newEtcdTarget(endpoints []string, clients int) (Target, error) {
	n := min(max((clients+etcdCallersPerClient-1)/etcdCallersPerClient, 1), etcdMaxClients)
	t := &etcdTarget{}
	for range n {
		c, err := clientv3.New(clientv3.Config{
			Endpoints:   endpoints,
			DialTimeout: 5 * time.Second,
			Logger:      zap.NewNop(),
		})
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("etcd: connect to %s: %w", strings.Join(endpoints, ","), err)
		}
		t.clients = append(t.clients, c)
	}
	return t, nil
}

// Name is "etcd".
func (t *etcdTarget) Name() string { return "etcd" }

// client picks the next client round-robin.
func (t *etcdTarget) client() *clientv3.Client {
	return t.clients[t.next.Add(1)%uint64(len(t.clients))]
}

// etcdKey is the key of one of an event's entries: etcdKey("7", "seat", "A1").
func etcdKey(event string, parts ...string) string {
	return "/ev/" + event + "/" + strings.Join(parts, "/")
}

// etcdErr wraps an error from the etcd client. The client turns the server's
// known errors into rpctypes.EtcdError, which has a gRPC code but no
// GRPCStatus method, so status.Code would say Unknown; GRPCStatus here gives
// the real code. Unwrap keeps the chain for errors.Is and errors.As.
//
// The client sends its deadline to the server, which may give up first and
// answer "etcdserver: request timed out" or "context deadline exceeded"
// (code Unknown) before the client's own context reports the deadline; such
// an error also wraps ctxErr, so errors.Is(err, context.DeadlineExceeded)
// holds for it as for a deadline the client saw.
type etcdErr struct {
	op     string
	err    error
	ctxErr error // the caller's context's error, when it had ended
}

// wrapEtcd wraps err, if any, as an etcdErr for op made under ctx.
func wrapEtcd(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	e := &etcdErr{op: op, err: err}
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		if dl, ok := ctx.Deadline(); ctx.Err() != nil {
			e.ctxErr = ctx.Err()
		} else if ok && !time.Now().Before(dl) {
			e.ctxErr = context.DeadlineExceeded
		}
	}
	return e
}

// Error names the operation and, when the wrapped error's text lacks them,
// the gRPC code (as "code = Unavailable", the way gRPC's own errors read)
// and the context's end.
func (e *etcdErr) Error() string {
	msg := "etcd: " + e.op + ": " + e.err.Error()
	if code := e.GRPCStatus().Code(); code != codes.Unknown && !strings.Contains(msg, "code = ") {
		msg += " (code = " + code.String() + ")"
	}
	if e.ctxErr != nil && !strings.Contains(msg, e.ctxErr.Error()) {
		msg += " (" + e.ctxErr.Error() + ")"
	}
	return msg
}

// Unwrap is the client's error and, if set, the context's.
func (e *etcdErr) Unwrap() []error {
	if e.ctxErr != nil {
		return []error{e.err, e.ctxErr}
	}
	return []error{e.err}
}

// GRPCStatus is the status of the wrapped error, as status.Code reads it.
func (e *etcdErr) GRPCStatus() *status.Status {
	if e.ctxErr != nil {
		return status.FromContextError(e.ctxErr)
	}
	var ee rpctypes.EtcdError
	if errors.As(e.err, &ee) {
		return status.New(ee.Code(), ee.Error())
	}
	if s, ok := status.FromError(e.err); ok {
		return s
	}
	if errors.Is(e.err, context.DeadlineExceeded) || errors.Is(e.err, context.Canceled) {
		return status.FromContextError(e.err)
	}
	return status.New(codes.Unknown, e.err.Error())
}

// Prepare writes a new event and returns its id. A seated event's seats are
// written etcdSeatChunk per transaction, several transactions at once.
func (t *etcdTarget) Prepare(ctx context.Context, inv Inventory) (string, error) {
	if len(inv.Seats) == 0 && inv.Capacity <= 0 {
		return "", fmt.Errorf("etcd: prepare %q: no capacity and no seats", inv.Name)
	}
	c := t.client()
	r, err := c.Put(ctx, "/ev-seq", inv.Name)
	if err != nil {
		return "", wrapEtcd(ctx, "prepare: allocate event id", err)
	}
	id := strconv.FormatInt(r.Header.Revision, 10)

	if len(inv.Seats) == 0 {
		_, err := c.Txn(ctx).Then(
			clientv3.OpPut(etcdKey(id, "kind"), "ga"),
			clientv3.OpPut(etcdKey(id, "name"), inv.Name),
			clientv3.OpPut(etcdKey(id, "cap"), strconv.FormatInt(inv.Capacity, 10)),
			clientv3.OpPut(etcdKey(id, "sold"), "0"),
		).Commit()
		if err != nil {
			return "", wrapEtcd(ctx, "prepare GA event "+id, err)
		}
		t.kinds.Store(id, "ga")
		t.caps.Store(id, inv.Capacity)
		return id, nil
	}

	if err := t.putSeats(ctx, id, inv.Seats); err != nil {
		return "", err
	}
	// kind is written last: an event with a kind has all its seats.
	_, err = c.Txn(ctx).Then(
		clientv3.OpPut(etcdKey(id, "name"), inv.Name),
		clientv3.OpPut(etcdKey(id, "cap"), strconv.Itoa(len(inv.Seats))),
		clientv3.OpPut(etcdKey(id, "kind"), "seated"),
	).Commit()
	if err != nil {
		return "", wrapEtcd(ctx, "prepare seated event "+id, err)
	}
	t.kinds.Store(id, "seated")
	return id, nil
}

// putSeats writes every seat of event as free, in chunks.
func (t *etcdTarget) putSeats(ctx context.Context, event string, seats []string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan []string)
	errs := make(chan error, etcdPrepareWriters)
	var wg sync.WaitGroup
	for range etcdPrepareWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range chunks {
				ops := make([]clientv3.Op, len(chunk))
				for i, label := range chunk {
					ops[i] = clientv3.OpPut(etcdKey(event, "seat", label), "")
				}
				if _, err := t.client().Txn(ctx).Then(ops...).Commit(); err != nil {
					errs <- wrapEtcd(ctx, fmt.Sprintf("prepare seats of event %s from %s", event, chunk[0]), err)
					cancel()
					return
				}
			}
		}()
	}
feed:
	for i := 0; i < len(seats); i += etcdSeatChunk {
		select {
		case chunks <- seats[i:min(i+etcdSeatChunk, len(seats))]:
		case <-ctx.Done():
			break feed
		}
	}
	close(chunks)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return ctx.Err()
	}
}

// Book claims a.Quantity GA tickets or a.Seats and records booking a.Key.
func (t *etcdTarget) Book(ctx context.Context, event string, a Attempt) error {
	rec, err := etcdRecordOf(a)
	if err != nil {
		return err
	}
	put := clientv3.OpPut(etcdKey(event, "booking", a.Key), rec)
	if len(a.Seats) == 0 {
		return t.claimTickets(ctx, event, a.Quantity, put)
	}
	return t.claimSeats(ctx, event, a.Seats, a.Key, put)
}

// Hold claims the inventory like Book but records hold a.Key instead: seats
// are marked "hold:<key>" and GA tickets are counted in sold at once, so a
// hold takes inventory until confirmed. Holds have no lease here.
func (t *etcdTarget) Hold(ctx context.Context, event string, a Attempt) (string, error) {
	rec, err := etcdRecordOf(a)
	if err != nil {
		return "", err
	}
	put := clientv3.OpPut(etcdKey(event, "hold", a.Key), rec)
	if len(a.Seats) == 0 {
		err = t.claimTickets(ctx, event, a.Quantity, put)
	} else {
		err = t.claimSeats(ctx, event, a.Seats, "hold:"+a.Key, put)
	}
	if err != nil {
		return "", err
	}
	return a.Key, nil
}

// etcdRecordOf is the JSON stored for attempt a, checked for a sane size.
func etcdRecordOf(a Attempt) (string, error) {
	rec := etcdRecord{Customer: a.Customer, Quantity: a.Quantity, Seats: a.Seats}
	if len(a.Seats) > 0 {
		rec.Quantity = int64(len(a.Seats))
	} else if a.Quantity <= 0 {
		return "", fmt.Errorf("etcd: attempt %s asks for %d tickets", a.Key, a.Quantity)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("etcd: encode attempt %s: %w", a.Key, err)
	}
	return string(b), nil
}

// claimTickets adds q to the event's sold counter by compare-and-swap on its
// mod revision, with record written in the same transaction. A lost race
// gets the counter's new value from the transaction's else branch and tries
// again, until it wins, the event is sold out, or ctx ends.
func (t *etcdTarget) claimTickets(ctx context.Context, event string, q int64, record clientv3.Op) error {
	c := t.client()
	capacity, err := t.capacity(ctx, c, event)
	if err != nil {
		return err
	}
	soldKey := etcdKey(event, "sold")
	r, err := c.Get(ctx, soldKey)
	if err != nil {
		return wrapEtcd(ctx, "read sold of event "+event, err)
	}
	if len(r.Kvs) == 0 {
		return fmt.Errorf("etcd: event %s has no sold counter", event)
	}
	kv := r.Kvs[0]
	for {
		sold, err := strconv.ParseInt(string(kv.Value), 10, 64)
		if err != nil {
			return fmt.Errorf("etcd: event %s: sold counter %q: %w", event, kv.Value, err)
		}
		if sold+q > capacity {
			return fmt.Errorf("etcd: event %s: %d tickets asked, %d of %d left: %w", event, q, capacity-sold, capacity, ErrConflict)
		}
		tr, err := c.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(soldKey), "=", kv.ModRevision)).
			Then(clientv3.OpPut(soldKey, strconv.FormatInt(sold+q, 10)), record).
			Else(clientv3.OpGet(soldKey)).
			Commit()
		if err != nil {
			return wrapEtcd(ctx, "claim tickets of event "+event, err)
		}
		if tr.Succeeded {
			return nil
		}
		kvs := tr.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			return fmt.Errorf("etcd: event %s: sold counter vanished", event)
		}
		kv = kvs[0]
		if err := ctx.Err(); err != nil {
			return wrapEtcd(ctx, "claim tickets of event "+event, err)
		}
	}
}

// capacity is a GA event's capacity, read once and then remembered.
func (t *etcdTarget) capacity(ctx context.Context, c *clientv3.Client, event string) (int64, error) {
	if v, ok := t.caps.Load(event); ok {
		return v.(int64), nil
	}
	r, err := c.Get(ctx, etcdKey(event, "cap"))
	if err != nil {
		return 0, wrapEtcd(ctx, "read capacity of event "+event, err)
	}
	if len(r.Kvs) == 0 {
		return 0, fmt.Errorf("etcd: event %s not found", event)
	}
	n, err := strconv.ParseInt(string(r.Kvs[0].Value), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("etcd: event %s: capacity %q: %w", event, r.Kvs[0].Value, err)
	}
	t.caps.Store(event, n)
	return n, nil
}

// claimSeats sets every seat to owner, and writes record, in one transaction
// that requires every seat to be free.
func (t *etcdTarget) claimSeats(ctx context.Context, event string, seats []string, owner string, record clientv3.Op) error {
	cmps := make([]clientv3.Cmp, len(seats))
	ops := make([]clientv3.Op, 0, len(seats)+1)
	for i, label := range seats {
		k := etcdKey(event, "seat", label)
		cmps[i] = clientv3.Compare(clientv3.Value(k), "=", "")
		ops = append(ops, clientv3.OpPut(k, owner))
	}
	ops = append(ops, record)
	tr, err := t.client().Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return wrapEtcd(ctx, "claim seats of event "+event, err)
	}
	if !tr.Succeeded {
		return fmt.Errorf("etcd: event %s: seats %s not all free: %w", event, strings.Join(seats, ","), ErrConflict)
	}
	return nil
}

// Confirm turns hold into booking a.Key in one transaction: the hold must
// exist, the booking must not, and each held seat must still be marked with
// the hold. GA tickets were counted in sold by the hold already.
func (t *etcdTarget) Confirm(ctx context.Context, event, hold string, a Attempt) error {
	rec, err := etcdRecordOf(a)
	if err != nil {
		return err
	}
	holdKey := etcdKey(event, "hold", hold)
	bookingKey := etcdKey(event, "booking", a.Key)
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(holdKey), ">", 0),
		clientv3.Compare(clientv3.CreateRevision(bookingKey), "=", 0),
	}
	ops := []clientv3.Op{clientv3.OpPut(bookingKey, rec), clientv3.OpDelete(holdKey)}
	for _, label := range a.Seats {
		k := etcdKey(event, "seat", label)
		cmps = append(cmps, clientv3.Compare(clientv3.Value(k), "=", "hold:"+hold))
		ops = append(ops, clientv3.OpPut(k, a.Key))
	}
	tr, err := t.client().Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return wrapEtcd(ctx, "confirm hold "+hold+" of event "+event, err)
	}
	if !tr.Succeeded {
		return fmt.Errorf("etcd: confirm hold %s of event %s: no such hold, booking %s exists already, or a seat is no longer held by it", hold, event, a.Key)
	}
	return nil
}

// kind is "ga" or "seated", read once and then remembered.
func (t *etcdTarget) kind(ctx context.Context, c *clientv3.Client, event string) (string, error) {
	if v, ok := t.kinds.Load(event); ok {
		return v.(string), nil
	}
	r, err := c.Get(ctx, etcdKey(event, "kind"))
	if err != nil {
		return "", wrapEtcd(ctx, "read kind of event "+event, err)
	}
	if len(r.Kvs) == 0 {
		return "", fmt.Errorf("etcd: event %s not found", event)
	}
	k := string(r.Kvs[0].Value)
	t.kinds.Store(event, k)
	return k, nil
}

// Browse reads what an event page shows: a GA event's sold counter and
// capacity, or a seated event's whole seat map (every seat and whether it
// is free), each with one read: linearizable, or serializable (served by the
// member asked, from its own state) when stale reads will do.
func (t *etcdTarget) Browse(ctx context.Context, event string, linearizable bool) error {
	c := t.client()
	var opts []clientv3.OpOption
	if !linearizable {
		opts = append(opts, clientv3.WithSerializable()) // any member answers from its own state
	}
	kind, err := t.kind(ctx, c, event)
	if err != nil {
		return err
	}
	if kind == "ga" && !linearizable {
		// A transaction is always linearizable: a stale page reads the
		// counter alone, the capacity never changes.
		if _, err := t.capacity(ctx, c, event); err != nil {
			return err
		}
		r, err := c.Get(ctx, etcdKey(event, "sold"), opts...)
		if err != nil {
			return wrapEtcd(ctx, "browse event "+event, err)
		}
		if len(r.Kvs) == 0 {
			return fmt.Errorf("etcd: browse event %s: counter missing", event)
		}
		return nil
	}
	if kind == "ga" {
		tr, err := c.Txn(ctx).Then(
			clientv3.OpGet(etcdKey(event, "sold")),
			clientv3.OpGet(etcdKey(event, "cap")),
		).Commit()
		if err != nil {
			return wrapEtcd(ctx, "browse event "+event, err)
		}
		for _, r := range tr.Responses {
			if len(r.GetResponseRange().GetKvs()) == 0 {
				return fmt.Errorf("etcd: browse event %s: counter missing", event)
			}
		}
		return nil
	}
	r, err := c.Get(ctx, etcdKey(event, "seat")+"/", append(opts, clientv3.WithPrefix())...)
	if err != nil {
		return wrapEtcd(ctx, "browse seats of event "+event, err)
	}
	if len(r.Kvs) == 0 {
		return fmt.Errorf("etcd: browse event %s: no seats", event)
	}
	// A page draws the map from r.Kvs: a seat is free when its value is "".
	return nil
}

// Audit reads the event at one revision and checks it:
//
//   - Bookings and Tickets count the confirmed bookings and their tickets
//     (seats for a seated event).
//   - Oversold is how many booked tickets exceed the capacity (the number of
//     seats for a seated event); holds are not counted as sold there.
//   - DoubleSold is how many seats more than one booking names.
//   - CounterDiffers, for GA, when sold is not the tickets of bookings plus
//     those of unconfirmed holds (a hold takes inventory); for seats, when a
//     booking names a seat whose key does not name that booking, or a seat
//     names a booking or hold that does not name the seat.
func (t *etcdTarget) Audit(ctx context.Context, event string, inv Inventory) (Audit, error) {
	c := t.client()
	var a Audit
	bookings, rev, err := etcdRangeAll(ctx, c, etcdKey(event, "booking")+"/", 0)
	if err != nil {
		return a, wrapEtcd(ctx, "audit bookings of event "+event, err)
	}
	holds, _, err := etcdRangeAll(ctx, c, etcdKey(event, "hold")+"/", rev)
	if err != nil {
		return a, wrapEtcd(ctx, "audit holds of event "+event, err)
	}
	booked, err := etcdDecodeAll(bookings, etcdKey(event, "booking")+"/")
	if err != nil {
		return a, fmt.Errorf("etcd: audit event %s: %w", event, err)
	}
	held, err := etcdDecodeAll(holds, etcdKey(event, "hold")+"/")
	if err != nil {
		return a, fmt.Errorf("etcd: audit event %s: %w", event, err)
	}

	owners := map[string]int{} // seat -> bookings naming it
	for key, b := range booked {
		a.Keys = append(a.Keys, key)
		a.Bookings++
		a.Tickets += b.Quantity
		for _, s := range b.Seats {
			owners[s]++
		}
	}
	for _, n := range owners {
		if n > 1 {
			a.DoubleSold++
		}
	}
	capacity := inv.Capacity
	if len(inv.Seats) > 0 {
		capacity = int64(len(inv.Seats))
	}

	if len(inv.Seats) == 0 {
		tr, err := c.Txn(ctx).Then(
			clientv3.OpGet(etcdKey(event, "sold"), clientv3.WithRev(rev)),
			clientv3.OpGet(etcdKey(event, "cap"), clientv3.WithRev(rev)),
		).Commit()
		if err != nil {
			return a, wrapEtcd(ctx, "audit counter of event "+event, err)
		}
		vals := make([]int64, 2)
		for i, r := range tr.Responses {
			kvs := r.GetResponseRange().GetKvs()
			if len(kvs) == 0 {
				return a, fmt.Errorf("etcd: audit event %s: no sold or cap key", event)
			}
			if vals[i], err = strconv.ParseInt(string(kvs[0].Value), 10, 64); err != nil {
				return a, fmt.Errorf("etcd: audit event %s: %q: %w", event, kvs[0].Key, err)
			}
		}
		if capacity == 0 {
			capacity = vals[1]
		}
		var heldTickets int64
		for _, h := range held {
			heldTickets += h.Quantity
		}
		a.CounterDiffers = vals[0] != a.Tickets+heldTickets
	} else {
		seatKVs, _, err := etcdRangeAll(ctx, c, etcdKey(event, "seat")+"/", rev)
		if err != nil {
			return a, wrapEtcd(ctx, "audit seats of event "+event, err)
		}
		prefix := etcdKey(event, "seat") + "/"
		seats := make(map[string]string, len(seatKVs))
		for _, kv := range seatKVs {
			seats[strings.TrimPrefix(string(kv.Key), prefix)] = string(kv.Value)
		}
		a.CounterDiffers = etcdSeatsDiffer(seats, booked, held)
	}
	a.Oversold = max(0, a.Tickets-capacity)
	return a, nil
}

// etcdSeatsDiffer reports whether the seat keys and the bookings and holds
// disagree about who has which seat.
func etcdSeatsDiffer(seats map[string]string, booked, held map[string]etcdRecord) bool {
	for key, b := range booked {
		for _, s := range b.Seats {
			if seats[s] != key {
				return true
			}
		}
	}
	for key, h := range held {
		for _, s := range h.Seats {
			if seats[s] != "hold:"+key {
				return true
			}
		}
	}
	for label, owner := range seats {
		if owner == "" {
			continue
		}
		rec, ok := booked[owner]
		if h, found := strings.CutPrefix(owner, "hold:"); found {
			rec, ok = held[h]
		}
		if !ok || !slices.Contains(rec.Seats, label) {
			return true
		}
	}
	return false
}

// etcdRangeAll reads every key under prefix at revision rev (0: the current
// one), etcdAuditPage keys per request, and returns them with the revision
// read.
func etcdRangeAll(ctx context.Context, c *clientv3.Client, prefix string, rev int64) ([]*etcdKV, int64, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	var all []*etcdKV
	from := prefix
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(etcdAuditPage)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		r, err := c.Get(ctx, from, opts...)
		if err != nil {
			return nil, 0, err
		}
		if rev == 0 {
			rev = r.Header.Revision
		}
		for _, kv := range r.Kvs {
			all = append(all, &etcdKV{Key: string(kv.Key), Value: kv.Value})
		}
		if !r.More || len(r.Kvs) == 0 {
			return all, rev, nil
		}
		from = string(r.Kvs[len(r.Kvs)-1].Key) + "\x00"
	}
}

// etcdKV is one key read by etcdRangeAll.
type etcdKV struct {
	Key   string
	Value []byte
}

// etcdDecodeAll decodes booking or hold records by their key less prefix.
func etcdDecodeAll(kvs []*etcdKV, prefix string) (map[string]etcdRecord, error) {
	recs := make(map[string]etcdRecord, len(kvs))
	for _, kv := range kvs {
		var r etcdRecord
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return nil, fmt.Errorf("record %s: %w", kv.Key, err)
		}
		recs[strings.TrimPrefix(kv.Key, prefix)] = r
	}
	return recs, nil
}

// Close closes the clients.
func (t *etcdTarget) Close() error {
	var errs []error
	for _, c := range t.clients {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("etcd: close: %w", err)
	}
	return nil
}
