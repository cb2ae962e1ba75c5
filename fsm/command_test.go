package fsm_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func TestEncodeDecodeCommandRoundTrip(t *testing.T) {
	reqs := []proto.Message{
		&bookdv1.CreateEventRequest{Name: "n", Capacity: 3, Seats: []string{"A1"}, IdempotencyKey: "k"},
		gaHold("ev_1", 2, time.Minute),
		&bookdv1.ConfirmRequest{HoldId: "hd_2", PaymentRef: "p"},
		&bookdv1.ReleaseHoldRequest{HoldId: "hd_2"},
		seatBook("ev_1", "A1"),
		&bookdv1.CancelBookingRequest{BookingId: "bk_3"},
		&fsmv1.ExpireHolds{},
		&fsmv1.RegisterMember{Id: "n1", RpcAddress: "127.0.0.1:1"},
		&fsmv1.UnregisterMember{Id: "n1"},
	}
	for _, req := range reqs {
		t.Run(fmt.Sprintf("%T", req), func(t *testing.T) {
			want := stampedCommand(t0+123, req)
			data := encode(t, want)
			got, err := fsm.DecodeCommand(data)
			if err != nil {
				t.Fatalf("DecodeCommand: %v", err)
			}
			if !proto.Equal(got, want) {
				t.Errorf("DecodeCommand(EncodeCommand(c)) = %v, want %v", got, want)
			}
			if again := encode(t, got); !bytes.Equal(again, data) {
				t.Errorf("encoding is not stable: %x then %x", data, again)
			}
		})
	}
}

func TestDecodeCommandRejects(t *testing.T) {
	valid := encode(t, stampedCommand(t0, gaEvent(1)))
	unknownOp := protowire.AppendTag([]byte{1}, 99, protowire.VarintType) // a field no Command has
	unknownOp = protowire.AppendVarint(unknownOp, 7)
	noOp := encode(t, &fsmv1.Command{StampUnixNanos: t0, RequestHash: []byte("h")})

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"nil", nil, "empty"},
		{"empty", []byte{}, "empty"},
		{"version 0", append([]byte{0}, valid[1:]...), "version 0"},
		{"version 2", append([]byte{2}, valid[1:]...), "version 2"},
		{"version 255", []byte{255}, "version 255"},
		{"version only", []byte{1}, "no known operation"},
		{"no operation", noOp, "no known operation"},
		{"unknown operation", unknownOp, "no known operation"},
		{"garbage", []byte{1, 0xff, 0xff, 0xff, 0xff}, "decode command"},
		{"truncated", valid[:len(valid)-1], "decode command"},
		{"bad wire type", []byte{1, 0x0f}, "decode command"},
		{"text", []byte("hello, world"), "version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := fsm.DecodeCommand(tt.data)
			if err == nil {
				t.Fatalf("DecodeCommand(%x) = %v, want an error", tt.data, c)
			}
			if c != nil {
				t.Errorf("DecodeCommand(%x) returned a command with its error: %v", tt.data, c)
			}
			if !strings.HasPrefix(err.Error(), "fsm: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeCommand(%x) error %q, want fsm: prefix and %q", tt.data, err, tt.want)
			}
		})
	}
}

func FuzzDecodeCommand(f *testing.F) {
	for _, req := range []proto.Message{gaEvent(1), gaHold("ev_1", 1, time.Second), &fsmv1.ExpireHolds{}} {
		data, err := fsm.EncodeCommand(stampedCommand(t0, req))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := fsm.DecodeCommand(data) // must not panic
		if err == nil && c.GetOp() == nil {
			t.Fatalf("DecodeCommand(%x) accepted a command with no operation", data)
		}
		if err != nil && c != nil {
			t.Fatalf("DecodeCommand(%x) returned a command with error %v", data, err)
		}
	})
}

func TestRequestHash(t *testing.T) {
	a := gaHold("ev_1", 2, time.Minute)
	a.IdempotencyKey = "k"
	same := gaHold("ev_1", 2, time.Minute)
	same.IdempotencyKey = "k"
	otherQty := gaHold("ev_1", 3, time.Minute)
	otherQty.IdempotencyKey = "k"
	otherKey := gaHold("ev_1", 2, time.Minute)
	otherKey.IdempotencyKey = "k2"

	h := fsm.RequestHash(a)
	if len(h) != 32 {
		t.Fatalf("RequestHash length %d, want 32 (SHA-256)", len(h))
	}
	if !bytes.Equal(h, fsm.RequestHash(same)) {
		t.Errorf("equal requests hash differently")
	}
	for name, m := range map[string]proto.Message{"quantity": otherQty, "key": otherKey, "type": &bookdv1.BookRequest{EventId: "ev_1", CustomerId: "alice", Quantity: 2, IdempotencyKey: "k"}} {
		if bytes.Equal(h, fsm.RequestHash(m)) {
			t.Errorf("requests differing in %s hash the same", name)
		}
	}
}

// An entry that cannot be decoded stops the node, and nothing of its batch
// is stored.
func TestApplyBatchPanicsOnUndecodableEntry(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown version", []byte{9, 1, 2}},
		{"no operation", []byte{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(gaEvent(5))
			appliedBefore, digestBefore := digest(t, h.f)

			logs := h.entries(stampedCommand(h.now, gaHold(ev.GetId(), 2, time.Minute)))
			logs = append(logs, &raft.Log{Index: h.next, Type: raft.LogCommand, Data: tt.data})
			func() {
				defer func() {
					r := recover()
					if r == nil {
						t.Fatal("ApplyBatch with an undecodable entry did not panic")
					}
					if msg := fmt.Sprint(r); !strings.Contains(msg, fmt.Sprintf("log entry %d", h.next)) {
						t.Errorf("panic %q does not name the entry's index %d", msg, h.next)
					}
				}()
				h.f.ApplyBatch(logs)
			}()

			if got := h.f.AppliedIndex(); got != appliedBefore {
				t.Errorf("AppliedIndex after the panic = %d, want %d", got, appliedBefore)
			}
			_, digestAfter := digest(t, h.f)
			if !bytes.Equal(digestBefore, digestAfter) {
				t.Errorf("the batch before the undecodable entry was stored")
			}
			checkAvail(t, h.avail(ev.GetId()), 5, 0, 0, nil)
		})
	}
}
