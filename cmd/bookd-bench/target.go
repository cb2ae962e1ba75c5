package main

import (
	"context"
	"errors"
	"strings"
)

// Target is one system under test: bookd, etcd or PostgreSQL. Every method
// but Close may be called from many goroutines at once.
//
// A Target only talks to servers; starting and stopping them is the job of a
// Servers (see servers.go), so that a run can also be pointed at a cluster
// somebody else started.
type Target interface {
	// Name is the system's short name in tables: "bookd", "etcd", "postgres".
	Name() string
	// Prepare creates the workload's inventory and returns its id in the
	// target (an event id, a key prefix, a row id).
	Prepare(ctx context.Context, inv Inventory) (string, error)
	// Book claims a.Quantity GA tickets, or a.Seats, of event in one
	// all-or-nothing step and records a booking. It returns an error that
	// wraps ErrConflict when the tickets or seats are no longer free.
	Book(ctx context.Context, event string, a Attempt) error
	// Hold claims the inventory like Book but only as a hold, to be
	// confirmed later; it returns the hold's id. ErrConflict as for Book.
	Hold(ctx context.Context, event string, a Attempt) (string, error)
	// Confirm turns a hold into a booking.
	Confirm(ctx context.Context, event, hold string, a Attempt) error
	// Browse reads the event's availability (free tickets or free seats),
	// as a customer's page would: linearizably, or allowing the staleness
	// the system offers for reads served by any replica.
	Browse(ctx context.Context, event string, linearizable bool) error
	// Audit reads back everything stored for the event and checks it.
	Audit(ctx context.Context, event string, inv Inventory) (Audit, error)
	// Close releases the connections.
	Close() error
}

// ErrConflict marks an attempt refused because the inventory is taken: sold
// out, or a seat already held or sold. It is the expected answer on a hot
// event, counted apart from errors.
var ErrConflict = errors.New("conflict")

// Inventory is what a workload sells: GA tickets (Seats empty) or named seats.
type Inventory struct {
	Name     string
	Capacity int64    // GA tickets; 0 for a seated event
	Seats    []string // labels, front rows first; empty for GA
}

// Attempt is one customer's try to buy. Key is unique per attempt (an
// idempotency key, usable as a booking id).
type Attempt struct {
	Key      string
	Customer string
	Quantity int64    // GA tickets; 0 when Seats or Items is set
	Seats    []string // seats wanted together, all or nothing
	// Items make the attempt an order of several items, on the events they
	// name, all or nothing (the order workload; bookd only). The event a
	// Target's Book or Hold is given is then unused.
	Items []Item
	// Voucher is a voucher code to redeem on the order ("" for none).
	Voucher string
}

// Item is one item of an order: GA tickets of a category of an event.
type Item struct {
	Event    string
	Category string
	Quantity int64
}

// tickets is the number of tickets the attempt asks for.
func (a Attempt) tickets() int64 {
	n := a.Quantity + int64(len(a.Seats))
	for _, it := range a.Items {
		n += it.Quantity
	}
	return n
}

// paymentRef is the payment reference a bookd booking of the attempt with
// key carries, so that the audit can tell which attempt stored it;
// attemptOfPaymentRef reads the key back.
func paymentRef(key string) string { return "pay-" + key }

func attemptOfPaymentRef(ref string) string { return strings.TrimPrefix(ref, "pay-") }

// Audit is what a Target found stored after a run.
type Audit struct {
	Bookings       int64 // confirmed bookings stored
	Tickets        int64 // tickets (GA) or seats in those bookings
	Oversold       int64 // tickets sold beyond capacity (must be 0)
	DoubleSold     int64 // seats in more than one booking (must be 0)
	CounterDiffers bool  // the system's own sold counter disagrees with its bookings
	// Keys are the Attempt.Key of every confirmed booking stored, once per
	// booking, for the run to compare with the bookings it saw
	// acknowledged (see ledger.reconcile).
	Keys []string `json:"-"`
}
