package client_test

import (
	"slices"
	"testing"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// A claim sent alone carries the first-attempt mark on its first sending
// of a key the Client made, and on no retry; a key the caller chose may
// have been sent before, so its calls are never marked; nor are writes
// other than claims.
func TestSingleClaimsMarkFirstAttempts(t *testing.T) {
	n := newFakeNode(t, "leader")
	c := newClient(t, []string{n.Addr})
	n.script(unavailable()) // the first call fails: the Client retries
	if _, err := c.Book(t.Context(), &bookdv1.BookRequest{EventId: "e1", CustomerId: "c", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Hold(t.Context(), &bookdv1.HoldRequest{EventId: "e1", CustomerId: "c", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Book(t.Context(), &bookdv1.BookRequest{EventId: "e1", CustomerId: "c", Quantity: 1, IdempotencyKey: "mine"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Confirm(t.Context(), &bookdv1.ConfirmRequest{HoldId: "h1"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"1", "", "1", "", ""}
	if got := n.firstMarks(); !slices.Equal(got, want) {
		t.Fatalf("first-attempt marks %q, want %q (book, its retry, hold, book with the caller's key, confirm)", got, want)
	}
}
