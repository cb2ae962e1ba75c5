package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgSchema is the PostgreSQL target's schema. A seats row's booking is NULL
// when free, the booking id when sold, and 'hold:' || hold id when held; a
// GA event's sold counts the tickets of its bookings and unconfirmed holds.
const pgSchema = `
CREATE TABLE IF NOT EXISTS events (
	id bigserial PRIMARY KEY,
	name text NOT NULL,
	capacity bigint NOT NULL,
	sold bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS seats (
	event_id bigint NOT NULL,
	label text NOT NULL,
	booking text,
	PRIMARY KEY (event_id, label)
);
CREATE TABLE IF NOT EXISTS bookings (
	id text PRIMARY KEY,
	event_id bigint NOT NULL,
	customer text NOT NULL,
	quantity bigint NOT NULL,
	seats text[],
	status text NOT NULL
);
CREATE TABLE IF NOT EXISTS holds (
	id text PRIMARY KEY,
	event_id bigint NOT NULL,
	customer text NOT NULL,
	quantity bigint NOT NULL,
	seats text[]
);`

// pgSchemaLock is the advisory lock key that serialises schema creation
// among bench processes sharing a server.
const pgSchemaLock = 0x626f6f6b64 // "bookd"

const (
	// pgExtraConns are pool connections beyond one per caller, for Prepare
	// and Audit running beside a load.
	pgExtraConns = 4
	// pgTries is how often a transaction that hit a deadlock or a
	// serialization failure is run in all.
	pgTries = 5
)

// GA tickets are claimed in one statement, so one round trip and one
// transaction: the UPDATE takes the event row's lock and re-checks the
// capacity on the latest sold value (READ COMMITTED), and the INSERT writes
// a row only if the UPDATE matched.
const (
	pgBookTickets = `WITH claim AS (
	UPDATE events SET sold = sold + $2 WHERE id = $1 AND sold + $2 <= capacity RETURNING id)
INSERT INTO bookings (id, event_id, customer, quantity, status)
SELECT $3, id, $4, $2, 'confirmed' FROM claim`
	pgHoldTickets = `WITH claim AS (
	UPDATE events SET sold = sold + $2 WHERE id = $1 AND sold + $2 <= capacity RETURNING id)
INSERT INTO holds (id, event_id, customer, quantity)
SELECT $3, id, $4, $2 FROM claim`
	pgClaimSeats = `UPDATE seats SET booking = $3
WHERE event_id = $1 AND label = ANY($2) AND booking IS NULL`
	pgInsertBooking = `INSERT INTO bookings (id, event_id, customer, quantity, seats, status)
VALUES ($1, $2, $3, $4, $5, 'confirmed')`
	pgInsertHold = `INSERT INTO holds (id, event_id, customer, quantity, seats)
VALUES ($1, $2, $3, $4, $5)`
)

// pgTarget books on PostgreSQL with one transaction per attempt at the
// default isolation, READ COMMITTED, through a pool of one connection per
// caller.
type pgTarget struct {
	pool *pgxpool.Pool

	schemaMu    sync.Mutex
	schemaReady bool
	seated      sync.Map // event id -> whether it has seats (bool)
}

// openPostgresTarget connects to the server at dsn with a pool of clients
// connections (plus a few), all established before it returns or ctx ends.
func openPostgresTarget(ctx context.Context, dsn string, clients int) (Target, error) {
	clients = max(clients, 1)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: connection string: %w", err)
	}
	cfg.MaxConns = int32(clients + pgExtraConns)
	cfg.MinConns = int32(clients)
	cfg.MaxConnLifetime = 24 * time.Hour
	cfg.MaxConnIdleTime = 24 * time.Hour
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: pool: %w", err)
	}
	if err := pgWarm(ctx, pool, clients); err != nil {
		pool.Close()
		return nil, err
	}
	return &pgTarget{pool: pool}, nil
}

// pgWarm opens n connections of pool at once, holding each until all are
// open so that they are distinct, so that no caller pays for a connection
// during the run.
func pgWarm(ctx context.Context, pool *pgxpool.Pool, n int) error {
	conns := make([]*pgxpool.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { conns[i], errs[i] = pool.Acquire(ctx) })
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.Release()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("postgres: open %d connections: %w", n, err)
	}
	return nil
}

// Name is "postgres".
func (t *pgTarget) Name() string { return "postgres" }

// pgEventID parses an event id as Prepare returned it.
func pgEventID(event string) (int64, error) {
	id, err := strconv.ParseInt(event, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("postgres: event id %q: %w", event, err)
	}
	return id, nil
}

// ensureSchema creates the tables once per target, under an advisory lock
// since CREATE TABLE IF NOT EXISTS can still race with itself.
func (t *pgTarget) ensureSchema(ctx context.Context) error {
	t.schemaMu.Lock()
	defer t.schemaMu.Unlock()
	if t.schemaReady {
		return nil
	}
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(pgSchemaLock)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, pgSchema)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: create schema: %w", err)
	}
	t.schemaReady = true
	return nil
}

// Prepare inserts the event, and a seated event's seats with COPY, and
// returns the event's id.
func (t *pgTarget) Prepare(ctx context.Context, inv Inventory) (string, error) {
	if len(inv.Seats) == 0 && inv.Capacity <= 0 {
		return "", fmt.Errorf("postgres: prepare %q: no capacity and no seats", inv.Name)
	}
	if err := t.ensureSchema(ctx); err != nil {
		return "", err
	}
	capacity := inv.Capacity
	if len(inv.Seats) > 0 {
		capacity = int64(len(inv.Seats))
	}
	var id int64
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, "INSERT INTO events (name, capacity) VALUES ($1, $2) RETURNING id",
			inv.Name, capacity).Scan(&id)
		if err != nil || len(inv.Seats) == 0 {
			return err
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"seats"}, []string{"event_id", "label"},
			pgx.CopyFromSlice(len(inv.Seats), func(i int) ([]any, error) {
				return []any{id, inv.Seats[i]}, nil
			}))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("postgres: prepare %q: %w", inv.Name, err)
	}
	if len(inv.Seats) > 0 {
		// Fresh statistics, so the planner looks seats up by key.
		if _, err := t.pool.Exec(ctx, "ANALYZE seats"); err != nil {
			return "", fmt.Errorf("postgres: prepare %q: analyze: %w", inv.Name, err)
		}
	}
	event := strconv.FormatInt(id, 10)
	t.seated.Store(event, len(inv.Seats) > 0)
	return event, nil
}

// Book claims a.Quantity GA tickets or a.Seats and records booking a.Key,
// in one transaction.
func (t *pgTarget) Book(ctx context.Context, event string, a Attempt) error {
	id, err := pgEventID(event)
	if err != nil {
		return err
	}
	if len(a.Seats) == 0 {
		return t.claimTickets(ctx, event, pgBookTickets, id, a)
	}
	return t.claimSeats(ctx, event, id, a, a.Key, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, pgInsertBooking, a.Key, id, a.Customer, int64(len(a.Seats)), a.Seats)
		return err
	})
}

// Hold claims the inventory like Book but records hold a.Key: seats get
// booking 'hold:<key>', GA tickets are added to sold at once.
func (t *pgTarget) Hold(ctx context.Context, event string, a Attempt) (string, error) {
	id, err := pgEventID(event)
	if err != nil {
		return "", err
	}
	if len(a.Seats) == 0 {
		err = t.claimTickets(ctx, event, pgHoldTickets, id, a)
	} else {
		err = t.claimSeats(ctx, event, id, a, "hold:"+a.Key, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, pgInsertHold, a.Key, id, a.Customer, int64(len(a.Seats)), a.Seats)
			return err
		})
	}
	if err != nil {
		return "", err
	}
	return a.Key, nil
}

// claimTickets runs pgBookTickets or pgHoldTickets; no row written means
// the event has fewer than a.Quantity tickets left.
func (t *pgTarget) claimTickets(ctx context.Context, event, sql string, id int64, a Attempt) error {
	if a.Quantity <= 0 {
		return fmt.Errorf("postgres: attempt %s asks for %d tickets", a.Key, a.Quantity)
	}
	tag, err := t.pool.Exec(ctx, sql, id, a.Quantity, a.Key, a.Customer)
	if err != nil {
		return fmt.Errorf("postgres: claim tickets of event %s: %w", event, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: event %s: %d tickets not left: %w", event, a.Quantity, ErrConflict)
	}
	return nil
}

// claimSeats sets every seat of a to owner if all are free, and runs record,
// in one transaction; it retries on deadlock. Seats are locked in label
// order (the primary key's), the same for every transaction, which makes a
// deadlock unlikely.
func (t *pgTarget) claimSeats(ctx context.Context, event string, id int64, a Attempt, owner string, record func(pgx.Tx) error) error {
	labels := slices.Sorted(slices.Values(a.Seats))
	if len(slices.Compact(slices.Clone(labels))) != len(labels) {
		return fmt.Errorf("postgres: attempt %s names a seat twice", a.Key)
	}
	err := pgRetry(ctx, func() error {
		return pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, pgClaimSeats, id, labels, owner)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != int64(len(labels)) {
				return ErrConflict
			}
			return record(tx)
		})
	})
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("postgres: event %s: seats %v not all free: %w", event, a.Seats, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: claim seats of event %s: %w", event, err)
	}
	return nil
}

// pgRetry runs tx until it succeeds, fails otherwise than by a deadlock
// (40P01) or serialization failure (40001), or has run pgTries times.
func pgRetry(ctx context.Context, tx func() error) error {
	for try := 1; ; try++ {
		err := tx()
		var pe *pgconn.PgError
		if err == nil || try == pgTries || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			return err
		}
		pause := time.Duration(rand.Int64N(int64(try) * int64(time.Millisecond)))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// Confirm turns hold into booking a.Key in one transaction: it deletes the
// hold, which must exist, moves its seats from the hold to the booking, and
// inserts the booking with the hold's customer, tickets and seats. GA sold
// does not change: the hold counted its tickets already.
func (t *pgTarget) Confirm(ctx context.Context, event, hold string, a Attempt) error {
	id, err := pgEventID(event)
	if err != nil {
		return err
	}
	errNoHold := fmt.Errorf("postgres: confirm hold %s of event %s: no such hold", hold, event)
	err = pgRetry(ctx, func() error {
		return pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
			var customer string
			var qty int64
			var seats []string
			err := tx.QueryRow(ctx, "DELETE FROM holds WHERE id = $1 AND event_id = $2 RETURNING customer, quantity, seats",
				hold, id).Scan(&customer, &qty, &seats)
			if errors.Is(err, pgx.ErrNoRows) {
				return errNoHold
			}
			if err != nil {
				return err
			}
			if len(seats) > 0 {
				tag, err := tx.Exec(ctx, "UPDATE seats SET booking = $3 WHERE event_id = $1 AND label = ANY($2) AND booking = $4",
					id, slices.Sorted(slices.Values(seats)), a.Key, "hold:"+hold)
				if err != nil {
					return err
				}
				if tag.RowsAffected() != int64(len(seats)) {
					return fmt.Errorf("%d of the hold's %d seats are no longer held by it", int64(len(seats))-tag.RowsAffected(), len(seats))
				}
			}
			_, err = tx.Exec(ctx, pgInsertBooking, a.Key, id, customer, qty, seats)
			return err
		})
	})
	if err != nil && !errors.Is(err, errNoHold) {
		return fmt.Errorf("postgres: confirm hold %s of event %s: %w", hold, event, err)
	}
	return err
}

// isSeated reports whether event has seats, remembered after the first ask.
func (t *pgTarget) isSeated(ctx context.Context, event string, id int64) (bool, error) {
	if v, ok := t.seated.Load(event); ok {
		return v.(bool), nil
	}
	var seated bool
	if err := t.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM seats WHERE event_id = $1)", id).Scan(&seated); err != nil {
		return false, fmt.Errorf("postgres: kind of event %s: %w", event, err)
	}
	t.seated.Store(event, seated)
	return seated, nil
}

// Browse reads what an event page shows: a GA event's tickets left, or a
// seated event's whole seat map (every label and whether it is free).
// A single server has no stale reads: linearizable or not, it is the same
// read.
func (t *pgTarget) Browse(ctx context.Context, event string, _ bool) error {
	id, err := pgEventID(event)
	if err != nil {
		return err
	}
	seated, err := t.isSeated(ctx, event, id)
	if err != nil {
		return err
	}
	if !seated {
		var left int64
		if err := t.pool.QueryRow(ctx, "SELECT capacity - sold FROM events WHERE id = $1", id).Scan(&left); err != nil {
			return fmt.Errorf("postgres: browse event %s: %w", event, err)
		}
		return nil
	}
	rows, err := t.pool.Query(ctx, "SELECT label, booking IS NULL FROM seats WHERE event_id = $1", id)
	if err != nil {
		return fmt.Errorf("postgres: browse seats of event %s: %w", event, err)
	}
	var label string
	var free bool
	_, err = pgx.ForEachRow(rows, []any{&label, &free}, func() error { return nil })
	if err != nil {
		return fmt.Errorf("postgres: browse seats of event %s: %w", event, err)
	}
	return nil
}

// Audit reads the event in one REPEATABLE READ snapshot and checks it, by
// the same rules as the etcd target's Audit:
//
//   - Bookings and Tickets count confirmed bookings and their tickets;
//     Keys are their ids (the attempts' keys).
//   - Oversold is booked tickets beyond capacity (the seat count if seated).
//   - DoubleSold is how many seats more than one booking names.
//   - CounterDiffers, for GA, when events.sold is not the tickets of the
//     bookings plus those of unconfirmed holds; for seats, when a booking
//     names a seat whose row does not name that booking, or a seat row
//     names a booking or hold that does not name the seat.
func (t *pgTarget) Audit(ctx context.Context, event string, inv Inventory) (Audit, error) {
	var a Audit
	id, err := pgEventID(event)
	if err != nil {
		return a, err
	}
	seated := len(inv.Seats) > 0
	capacity := inv.Capacity
	if seated {
		capacity = int64(len(inv.Seats))
	}
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err = pgx.BeginTxFunc(ctx, t.pool, opts, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, quantity FROM bookings WHERE event_id = $1 AND status = 'confirmed'`, id)
		if err != nil {
			return fmt.Errorf("bookings: %w", err)
		}
		var key string
		var qty int64
		_, err = pgx.ForEachRow(rows, []any{&key, &qty}, func() error {
			a.Bookings++
			a.Tickets += qty
			a.Keys = append(a.Keys, key)
			return nil
		})
		if err != nil {
			return fmt.Errorf("bookings: %w", err)
		}
		err = tx.QueryRow(ctx, `SELECT count(*) FROM (
	SELECT s FROM bookings b CROSS JOIN LATERAL unnest(b.seats) AS s
	WHERE b.event_id = $1 GROUP BY s HAVING count(*) > 1) AS d`, id).Scan(&a.DoubleSold)
		if err != nil {
			return fmt.Errorf("double-sold seats: %w", err)
		}
		if !seated {
			var storedCap, sold, held int64
			err = tx.QueryRow(ctx, `SELECT capacity, sold,
	(SELECT coalesce(sum(quantity), 0)::bigint FROM holds WHERE event_id = $1)
FROM events WHERE id = $1`, id).Scan(&storedCap, &sold, &held)
			if err != nil {
				return fmt.Errorf("counter: %w", err)
			}
			if capacity == 0 {
				capacity = storedCap
			}
			a.CounterDiffers = sold != a.Tickets+held
			return nil
		}
		err = tx.QueryRow(ctx, `SELECT EXISTS (
	SELECT 1 FROM bookings b CROSS JOIN LATERAL unnest(b.seats) AS s
	LEFT JOIN seats st ON st.event_id = b.event_id AND st.label = s
	WHERE b.event_id = $1 AND st.booking IS DISTINCT FROM b.id
) OR EXISTS (
	SELECT 1 FROM holds h CROSS JOIN LATERAL unnest(h.seats) AS s
	LEFT JOIN seats st ON st.event_id = h.event_id AND st.label = s
	WHERE h.event_id = $1 AND st.booking IS DISTINCT FROM 'hold:' || h.id
) OR EXISTS (
	SELECT 1 FROM seats st WHERE st.event_id = $1 AND st.booking IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.id = st.booking AND st.label = ANY (b.seats))
	AND NOT EXISTS (SELECT 1 FROM holds h WHERE st.booking LIKE 'hold:%'
		AND h.id = substr(st.booking, 6) AND st.label = ANY (h.seats))
)`, id).Scan(&a.CounterDiffers)
		if err != nil {
			return fmt.Errorf("seat rows: %w", err)
		}
		return nil
	})
	if err != nil {
		return a, fmt.Errorf("postgres: audit event %s: %w", event, err)
	}
	a.Oversold = max(0, a.Tickets-capacity)
	return a, nil
}

// Close closes the pool.
func (t *pgTarget) Close() error {
	t.pool.Close()
	return nil
}
