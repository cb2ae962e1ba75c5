package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/rpc/clustertest"
)

// run executes the CLI in-process and returns stdout and the exit code.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		return describe(err), exitCode(err)
	}
	return out.String(), 0
}

func runJSON(t *testing.T, into any, args ...string) {
	t.Helper()
	out, code := run(t, append(args, "-o", "json")...)
	if code != 0 {
		t.Fatalf("bookd %s: exit %d: %s", strings.Join(args, " "), code, out)
	}
	if err := json.Unmarshal([]byte(out), into); err != nil {
		t.Fatalf("bookd %s: %v in %q", strings.Join(args, " "), err, out)
	}
}

func TestCLI(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	t.Setenv("BOOKD_ENDPOINTS", strings.Join(c.Endpoints(), ","))

	var ev struct{ ID string }
	runJSON(t, &ev, "events", "create", "--name", "Opening night", "--capacity", "5", "--seats", "A1-A3,B1")
	var hold struct {
		ID       string
		Seats    []string
		Quantity string
	}
	runJSON(t, &hold, "hold", ev.ID, "--customer", "alice", "--seats", "A1-A2", "--ttl", "5m")
	if !slices.Equal(hold.Seats, []string{"A1", "A2"}) || hold.Quantity != "2" {
		t.Fatalf("hold = %+v", hold)
	}
	var booking struct{ ID, HoldID, PaymentRef, ContactEmail string }
	runJSON(t, &booking, "confirm", hold.ID, "--payment-ref", "pay_1", "--contact-email", "alice@example.com")
	if booking.HoldID != hold.ID || booking.PaymentRef != "pay_1" || booking.ContactEmail != "alice@example.com" {
		t.Fatalf("booking = %+v", booking)
	}
	// A hold's payment reference and address carry over to its booking.
	var held struct{ ID string }
	runJSON(t, &held, "hold", ev.ID, "--customer", "bea", "--quantity", "1", "--payment-ref", "pi_9", "--contact-email", "bea@example.com")
	var carried struct{ PaymentRef, ContactEmail string }
	runJSON(t, &carried, "confirm", held.ID)
	if carried.PaymentRef != "pi_9" || carried.ContactEmail != "bea@example.com" {
		t.Fatalf("booking of a hold with a payment and an address = %+v", carried)
	}
	if out, code := run(t, "book", ev.ID, "--customer", "cy", "--quantity", "1", "--contact-email", "cy at example"); code == 0 || !strings.Contains(out, "contact_email") {
		t.Fatalf("book with a bad address: exit %d: %s", code, out)
	}
	var av struct {
		FreeSeats         []string
		AvailableQuantity string
	}
	runJSON(t, &av, "availability", ev.ID)
	if !slices.Equal(av.FreeSeats, []string{"A3", "B1"}) || av.AvailableQuantity != "4" {
		t.Fatalf("availability = %+v", av)
	}
	out, code := run(t, "bookings", "list", ev.ID)
	if code != 0 || !strings.Contains(out, booking.ID) || !strings.Contains(out, "CONFIRMED") {
		t.Fatalf("bookings list: exit %d: %s", code, out)
	}
	if out, code = run(t, "cluster", "status"); code != 0 || strings.Count(out, "127.0.0.1") < 3 || !strings.Contains(out, "cluster healthy") {
		t.Fatalf("cluster status: exit %d: %s", code, out)
	}

	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"book", ev.ID, "--customer", "bob", "--seats", "A1"}, 4, "taken"},
		{[]string{"book", ev.ID, "--customer", "bob", "--quantity", "6"}, 4, "left"},
		{[]string{"hold", ev.ID, "--customer", "bob"}, 2, "quantity"},
		{[]string{"hold", ev.ID, "--customer", "bob", "--seats", "A3-B1"}, 2, "--seats"},
		{[]string{"confirm", "hd_999999"}, 3, "not found"},
		{[]string{"hold", "get", hold.ID}, 0, "CONFIRMED"},
		{[]string{"hold", "get", "hd_999999"}, 3, "not found"},
		{[]string{"hold", ev.ID, "--quantity", "1"}, 2, "--customer is required"},
		{[]string{"book", ev.ID, "--customer", "bob", "--seats", "A3,,B1"}, 2, "item 2 is empty"},
		{[]string{"hold", ev.ID, "--customer", "bob", "--seats", "A3", "--ttl", "0"}, 2, "--ttl"},
		{[]string{"events", "get", ev.ID, "-o", "yaml"}, 2, "--output"},
		{[]string{"bookings", "cancel", booking.ID}, 0, "CANCELLED"},
		{[]string{"bookings", "cancel", booking.ID}, 4, "already cancelled"},
	} {
		out, code := run(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.says) {
			t.Errorf("bookd %s: exit %d %q, want exit %d saying %q", strings.Join(tc.args, " "), code, out, tc.code, tc.says)
		}
	}
}

func TestEnvBadValue(t *testing.T) {
	t.Setenv("BOOKD_TIMEOUT", "soon")
	if out, code := run(t, "events", "list"); code != 2 || !strings.Contains(out, "BOOKD_TIMEOUT") {
		t.Errorf("bad BOOKD_TIMEOUT: exit %d %q", code, out)
	}
}

func TestExpandSeats(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"A1", []string{"A1"}, false},
		{"A1-A3, B7", []string{"A1", "A2", "A3", "B7"}, false},
		{"AA9-AA11", []string{"AA9", "AA10", "AA11"}, false},
		{"A3-A1", nil, true},
		{"A1-B2", nil, true},
		{"A-B", nil, true},
		{"DECK-A-4", []string{"DECK-A-4"}, false},
		{"DECK-A-9..11,B2", []string{"DECK-A-9", "DECK-A-10", "DECK-A-11", "B2"}, false},
		{"A1..3", []string{"A1", "A2", "A3"}, false},
		{"DECK-A-3..1", nil, true},
		{"DECK-A..3", nil, true},
		{"DECK-A-1..x", nil, true},
		{"A7,,A8", nil, true},
		{"A7,", nil, true},
		{" , ", nil, true},
	}
	for _, tt := range tests {
		got, err := expandSeats(tt.in)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("expandSeats(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{usagef("bad flag"), 2},
		{connect.NewError(connect.CodeInvalidArgument, errors.New("x")), 2},
		{connect.NewError(connect.CodeAlreadyExists, errors.New("x")), 2},
		{connect.NewError(connect.CodeNotFound, errors.New("x")), 3},
		{connect.NewError(connect.CodeFailedPrecondition, errors.New("x")), 4},
		{connect.NewError(connect.CodeOutOfRange, errors.New("cursor too old")), 4},
		{connect.NewError(connect.CodeUnavailable, errors.New("x")), 5},
		{fmt.Errorf("client: gave up: %w", connect.NewError(connect.CodeUnavailable, errors.New("x"))), 5},
		{errors.New("other"), 1},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
