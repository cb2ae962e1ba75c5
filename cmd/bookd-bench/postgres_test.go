package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPostgresTarget(t *testing.T) {
	if _, err := pgBinary("postgres"); err != nil {
		t.Skipf("PostgreSQL is not installed: %v", err)
	}
	if _, err := pgBinary("initdb"); err != nil {
		t.Skipf("PostgreSQL is not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := startPostgres(ctx, t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	}()
	if pids := srv.PIDs(); len(pids) != 1 {
		t.Errorf("PIDs() = %v, want the postmaster", pids)
	}
	conn, err := pgx.Connect(ctx, srv.(*pgServers).dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	inject := func(ctx context.Context, ev, key string, qty int64, seats []string) error {
		_, err := conn.Exec(ctx, pgInsertBooking, key, ev, "x", qty, seats)
		return err
	}
	checkPeerTarget(ctx, t, srv, inject)
}
