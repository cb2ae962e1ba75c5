package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want outcome
	}{
		{"success", nil, outcomeBooked},
		{"conflict", fmt.Errorf("x: %w", ErrConflict), outcomeConflict},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), outcomeUnknown},
		{"unavailable from a node", connect.NewWireError(connect.CodeUnavailable, errors.New("no leader")), outcomeUnknown},
		{"resource exhausted from a node", connect.NewWireError(connect.CodeResourceExhausted, errors.New("shed")), outcomeRefused},
		{"failed precondition from a node", connect.NewWireError(connect.CodeFailedPrecondition, errors.New("closed")), outcomeRefused},
		{"no answer from a node", connect.NewError(connect.CodeResourceExhausted, errors.New("made here")), outcomeUnknown},
		{"marked unknown", fmt.Errorf("%w: %w", ErrUnknownOutcome, connect.NewWireError(connect.CodeFailedPrecondition, errors.New("x"))), outcomeUnknown},
		{"postgres error", fmt.Errorf("x: %w", &pgconn.PgError{Code: "23505"}), outcomeRefused},
		{"etcd unavailable", status.Error(codes.Unavailable, "x"), outcomeUnknown},
		{"etcd invalid", status.Error(codes.InvalidArgument, "x"), outcomeRefused},
		{"anything else", errors.New("connection reset"), outcomeUnknown},
	}
	for _, tt := range tests {
		if got := outcomeOf(tt.err); got != tt.want {
			t.Errorf("%s: outcomeOf(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name    string
		acked   []string
		unknown []string
		stored  []string
		want    reconciliation
	}{
		{"equal", []string{"a", "b"}, nil, []string{"b", "a"},
			reconciliation{Acknowledged: 2, Stored: 2}},
		{"some unknown stored", []string{"a"}, []string{"u1", "u2"}, []string{"a", "u2"},
			reconciliation{Acknowledged: 1, Unknown: 2, Stored: 2, UnknownStored: 1}},
		{"acknowledged lost", []string{"a", "b"}, []string{"u"}, []string{"a", "u"},
			reconciliation{Acknowledged: 2, Unknown: 1, Stored: 2, UnknownStored: 1, Missing: 1}},
		{"stored from nowhere", []string{"a"}, nil, []string{"a", "x"},
			reconciliation{Acknowledged: 1, Stored: 2, Extra: 1}},
		{"stored twice", []string{"a"}, nil, []string{"a", "a"},
			reconciliation{Acknowledged: 1, Stored: 1, Duplicate: 1}},
	}
	for _, tt := range tests {
		l := newLedger()
		for _, k := range tt.acked {
			l.note(k, outcomeBooked)
		}
		for _, k := range tt.unknown {
			l.note(k, outcomeUnknown)
		}
		l.note("refused", outcomeRefused)
		l.note("conflict", outcomeConflict)
		got := l.reconcile(tt.stored)
		if got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
		if wantOK := tt.want.Missing == 0 && tt.want.Extra == 0 && tt.want.Duplicate == 0; got.ok() != wantOK {
			t.Errorf("%s: ok() = %v", tt.name, got.ok())
		}
	}
}
