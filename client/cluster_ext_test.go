package client_test

import (
	"testing"

	"connectrpc.com/connect"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

func TestStatusTriesOtherNodes(t *testing.T) {
	a, b := newFakeNode(t, "a"), newFakeNode(t, "b")
	a.failAlways(unavailable())
	c := newClient(t, []string{a.Addr, b.Addr})
	st, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.GetNodeId() != "b" {
		t.Errorf("Status answered by %q, want b", st.GetNodeId())
	}
}

func TestStatusOfAsksOnlyThatNode(t *testing.T) {
	a, b := newFakeNode(t, "a"), newFakeNode(t, "b")
	a.failAlways(unavailable())
	other := newFakeNode(t, "other")
	c := newClient(t, []string{a.Addr, b.Addr})

	if _, err := c.StatusOf(t.Context(), a.Addr); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("StatusOf(a) error = %v, want code %v", err, connect.CodeUnavailable)
	}
	if got, want := []int{a.calls(), b.calls()}, []int{1, 0}; !equalInts(got, want) {
		t.Errorf("requests to a, b = %v, want %v", got, want)
	}
	// A node outside the endpoint list, given as a URL.
	st, err := c.StatusOf(t.Context(), other.URL)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetNodeId() != "other" {
		t.Errorf("StatusOf(other) answered by %q", st.GetNodeId())
	}
	if _, err := c.StatusOf(t.Context(), "no-port"); err == nil {
		t.Error("StatusOf(\"no-port\") succeeded, want an error")
	}
}

func TestMembershipChangesAreRetried(t *testing.T) {
	n := newFakeNode(t, "n1")
	n.script(unavailable(), unavailable(), unavailable())
	c := newClient(t, []string{n.Addr})
	if _, err := c.AddNode(t.Context(), &bookdv1.AddNodeRequest{Id: "n4", RaftAddress: "n4:7000", RpcAddress: "n4:7070"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveNode(t.Context(), "n4"); err != nil {
		t.Fatal(err)
	}
	if got := n.calls(); got != 5 {
		t.Errorf("node got %d requests, want 5 (4 for AddNode, 1 for RemoveNode)", got)
	}
}

func TestTransferLeadership(t *testing.T) {
	tests := []struct {
		id        string
		wantCalls int
	}{
		{id: "n2", wantCalls: 2},
		{id: "", wantCalls: 1}, // never retried: leadership could move twice
	}
	for _, tt := range tests {
		t.Run("id="+tt.id, func(t *testing.T) {
			n := newFakeNode(t, "n1")
			n.script(unavailable())
			c := newClient(t, []string{n.Addr})
			_, err := c.TransferLeadership(t.Context(), tt.id)
			if tt.wantCalls == 1 && connect.CodeOf(err) != connect.CodeUnavailable {
				t.Errorf("TransferLeadership(%q) error = %v, want code %v", tt.id, err, connect.CodeUnavailable)
			}
			if tt.wantCalls > 1 && err != nil {
				t.Errorf("TransferLeadership(%q): %v", tt.id, err)
			}
			if got := n.calls(); got != tt.wantCalls {
				t.Errorf("node got %d requests, want %d", got, tt.wantCalls)
			}
		})
	}
}
