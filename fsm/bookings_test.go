package fsm_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestBook(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(h *harness, ev string)
		req        func(ev string) *bookdv1.BookRequest
		wantCode   fsm.Code
		wantReason string
		wantMsg    []string
		// Availability afterwards.
		wantAvailable, wantBooked int64
		wantFree                  []string
		wantBookedSeats           int64
	}{
		{
			name:          "GA",
			req:           func(ev string) *bookdv1.BookRequest { return gaBook(ev, 4) },
			wantAvailable: 6, wantBooked: 4, wantFree: allSeats,
		},
		{
			name:          "seats",
			req:           func(ev string) *bookdv1.BookRequest { return seatBook(ev, "A4", "A2") },
			wantAvailable: 10, wantFree: []string{"A1", "A3", "A5"}, wantBookedSeats: 2,
		},
		{
			name: "ttl is ignored",
			req: func(ev string) *bookdv1.BookRequest {
				r := gaBook(ev, 1)
				r.Ttl = durationpb.New(time.Millisecond) // would be refused by Hold
				return r
			},
			wantAvailable: 9, wantBooked: 1, wantFree: allSeats,
		},
		{
			name:     "GA sold out",
			setup:    func(h *harness, ev string) { h.hold(gaHold(ev, 9, time.Minute)) },
			req:      func(ev string) *bookdv1.BookRequest { return gaBook(ev, 2) },
			wantCode: fsm.CodeFailedPrecondition, wantReason: fsm.ReasonSoldOut, wantMsg: []string{"only 1 tickets left, 2 asked"},
			wantAvailable: 1, wantFree: allSeats,
		},
		{
			name:     "seat held",
			setup:    func(h *harness, ev string) { h.hold(seatHold(ev, time.Minute, "A3")) },
			req:      func(ev string) *bookdv1.BookRequest { return seatBook(ev, "A1", "A2", "A3") },
			wantCode: fsm.CodeFailedPrecondition, wantReason: fsm.ReasonSeatTaken, wantMsg: []string{"seat A3 "},
			wantAvailable: 10, wantFree: []string{"A1", "A2", "A4", "A5"},
		},
		{
			name:     "seat booked",
			setup:    func(h *harness, ev string) { h.book(seatBook(ev, "A1")) },
			req:      func(ev string) *bookdv1.BookRequest { return seatBook(ev, "A2", "A1") },
			wantCode: fsm.CodeFailedPrecondition, wantReason: fsm.ReasonSeatTaken, wantMsg: []string{"seat A1 "},
			wantAvailable: 10, wantFree: []string{"A2", "A3", "A4", "A5"}, wantBookedSeats: 1,
		},
		{
			name:     "unknown seat",
			req:      func(ev string) *bookdv1.BookRequest { return seatBook(ev, "A1", "A2", "A9") },
			wantCode: fsm.CodeInvalidArgument, wantReason: fsm.ReasonUnknownSeat, wantMsg: []string{"seats[2]:", `"A9"`},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:     "unknown event",
			req:      func(string) *bookdv1.BookRequest { return gaBook("ev_404", 1) },
			wantCode: fsm.CodeNotFound, wantMsg: []string{"event ev_404 not found"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name: "payment_ref too long",
			req: func(ev string) *bookdv1.BookRequest {
				r := gaBook(ev, 1)
				r.PaymentRef = strings.Repeat("p", fsm.MaxIDLen+1)
				return r
			},
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"payment_ref:"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name: "customer_id too long",
			req: func(ev string) *bookdv1.BookRequest {
				r := gaBook(ev, 1)
				r.CustomerId = strings.Repeat("c", fsm.MaxIDLen+1)
				return r
			},
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"customer_id:", "at most 128"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:     "no quantity",
			req:      func(ev string) *bookdv1.BookRequest { return gaBook(ev, 0) },
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"quantity:"},
			wantAvailable: 10, wantFree: allSeats,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(mixedEvent()).GetId()
			if tt.setup != nil {
				tt.setup(h, ev)
			}
			h.now = t0 + 3*sec
			req := tt.req(ev)
			index := h.next
			res := h.do(req)
			if tt.wantCode != 0 {
				wantErr(t, res, tt.wantCode, tt.wantReason, tt.wantMsg...)
				if _, err := h.f.Booking(id("bk", index)); err == nil {
					t.Errorf("a refused Book stored booking %s", id("bk", index))
				}
			} else {
				b := mustOK[*bookdv1.BookResponse](t, res).GetBooking()
				want := &bookdv1.Booking{
					Id: id("bk", index), EventId: ev, CustomerId: "bob", Quantity: req.GetQuantity(), Seats: req.GetSeats(),
					PaymentRef: "pay", CreatedAt: &timestamppb.Timestamp{Seconds: t0/sec + 3},
					Status: bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED,
				}
				if len(req.GetSeats()) > 0 {
					want.Quantity = b.GetQuantity() // not pinned: see TestSeatHoldQuantityIsZero
				}
				if !proto.Equal(b, want) {
					t.Errorf("Book returned %v, want %v", b, want)
				}
				if stored := h.readBooking(b.GetId()); !proto.Equal(stored, want) {
					t.Errorf("Booking(%s) = %v, want %v", b.GetId(), stored, want)
				}
			}
			a := h.avail(ev)
			if a.GetAvailableQuantity() != tt.wantAvailable || a.GetBookedQuantity() != tt.wantBooked || a.GetBookedSeats() != tt.wantBookedSeats {
				t.Errorf("available/booked/booked seats %d/%d/%d, want %d/%d/%d", a.GetAvailableQuantity(), a.GetBookedQuantity(),
					a.GetBookedSeats(), tt.wantAvailable, tt.wantBooked, tt.wantBookedSeats)
			}
			if !slices.Equal(a.GetFreeSeats(), tt.wantFree) {
				t.Errorf("free seats %q, want %q", a.GetFreeSeats(), tt.wantFree)
			}
		})
	}
}

func TestCancelBooking(t *testing.T) {
	tests := []struct {
		name string
		make func(h *harness, ev string) *bookdv1.Booking
	}{
		{"GA booked", func(h *harness, ev string) *bookdv1.Booking { return h.book(gaBook(ev, 10)) }},
		{"seats booked", func(h *harness, ev string) *bookdv1.Booking { return h.book(seatBook(ev, allSeats...)) }},
		{"GA confirmed hold", func(h *harness, ev string) *bookdv1.Booking {
			return h.confirm(h.hold(gaHold(ev, 10, time.Minute)).GetId())
		}},
		{"seats confirmed hold", func(h *harness, ev string) *bookdv1.Booking {
			return h.confirm(h.hold(seatHold(ev, time.Minute, "A5", "A1", "A3", "A2", "A4")).GetId())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(mixedEvent()).GetId()
			b := tt.make(h, ev)
			isSeats := len(b.GetSeats()) > 0
			if isSeats {
				checkAvail(t, h.avail(ev), 10, 0, 0, nil)
				wantErr(t, h.do(seatHold(ev, time.Minute, "A1")), fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken)
			} else {
				checkAvail(t, h.avail(ev), 0, 0, 10, allSeats)
				wantErr(t, h.do(gaHold(ev, 1, time.Minute)), fsm.CodeFailedPrecondition, fsm.ReasonSoldOut)
			}

			h.now = t0 + 7*sec
			got := h.cancel(b.GetId())
			want := proto.Clone(b).(*bookdv1.Booking)
			want.Status = bookdv1.BookingStatus_BOOKING_STATUS_CANCELLED
			want.CancelledAt = &timestamppb.Timestamp{Seconds: t0/sec + 7}
			if !proto.Equal(got, want) {
				t.Errorf("CancelBooking returned %v, want %v", got, want)
			}
			if stored := h.readBooking(b.GetId()); !proto.Equal(stored, want) {
				t.Errorf("Booking(%s) = %v, want %v", b.GetId(), stored, want)
			}
			a := h.avail(ev)
			checkAvail(t, a, 10, 0, 0, allSeats)
			if a.GetBookedSeats() != 0 || a.GetHeldSeats() != 0 {
				t.Errorf("booked/held seats %d/%d after cancel, want 0/0", a.GetBookedSeats(), a.GetHeldSeats())
			}

			h.now = t0 + 8*sec
			wantErr(t, h.do(&bookdv1.CancelBookingRequest{BookingId: b.GetId()}),
				fsm.CodeFailedPrecondition, fsm.ReasonBookingCancelled, b.GetId(), "already cancelled")
			if stored := h.readBooking(b.GetId()); !proto.Equal(stored, want) {
				t.Errorf("a second cancel changed the booking to %v", stored)
			}
			checkAvail(t, h.avail(ev), 10, 0, 0, allSeats)

			// The inventory can be sold again.
			if isSeats {
				h.book(seatBook(ev, allSeats...))
				checkAvail(t, h.avail(ev), 10, 0, 0, nil)
			} else {
				h.book(gaBook(ev, 10))
				checkAvail(t, h.avail(ev), 0, 0, 10, allSeats)
			}
		})
	}
}

func TestCancelBookingBadID(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mixedEvent()).GetId()
	hd := h.hold(gaHold(ev, 1, time.Minute)) // index 2: a hold, not a booking
	tests := []struct {
		bookingID string
		code      fsm.Code
		msg       string
	}{
		{"bk_999", fsm.CodeNotFound, "booking bk_999 not found"},
		{"bk_2", fsm.CodeNotFound, "booking bk_2 not found"},
		{hd.GetId(), fsm.CodeInvalidArgument, "booking_id:"},
		{"", fsm.CodeInvalidArgument, "booking_id:"},
		{"bk_x", fsm.CodeInvalidArgument, "booking_id:"},
	}
	for _, tt := range tests {
		t.Run(tt.bookingID, func(t *testing.T) {
			wantErr(t, h.do(&bookdv1.CancelBookingRequest{BookingId: tt.bookingID}), tt.code, "", tt.msg)
			_, err := h.f.Booking(tt.bookingID)
			checkError(t, err, fsm.CodeNotFound, "", "not found")
		})
	}
}

func TestListBookings(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(100)).GetId()
	other := h.createEvent(gaEvent(100)).GetId()
	var want []string
	for i := range 9 {
		h.now = t0 + int64(i)*sec
		switch i % 3 {
		case 0:
			want = append(want, h.book(gaBook(ev, 1)).GetId())
		case 1:
			want = append(want, h.confirm(h.hold(gaHold(ev, 2, time.Minute)).GetId()).GetId())
		case 2:
			h.book(gaBook(other, 1))
			b := h.book(gaBook(ev, 3))
			h.cancel(b.GetId()) // cancelled bookings are still listed
			want = append(want, b.GetId())
		}
	}
	for _, limit := range []int{1, 2, 4, 9, 10} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var got []string
			after := ""
			for pages := 0; pages <= len(want)+1; pages++ {
				bookings, next, err := h.f.ListBookings(ev, "", after, limit)
				if err != nil {
					t.Fatalf("ListBookings(%s, %q, %d): %v", ev, after, limit, err)
				}
				if len(bookings) > limit {
					t.Fatalf("ListBookings returned %d bookings, limit %d", len(bookings), limit)
				}
				for _, b := range bookings {
					if b.GetEventId() != ev {
						t.Errorf("ListBookings(%s) returned %s of event %s", ev, b.GetId(), b.GetEventId())
					}
					got = append(got, b.GetId())
				}
				if next == "" {
					break
				}
				after = next
			}
			if !slices.Equal(got, want) {
				t.Errorf("paged bookings %v, want %v", got, want)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		_, _, err := h.f.ListBookings("ev_999", "", "", 10)
		checkError(t, err, fsm.CodeNotFound, "", "event ev_999 not found")
		_, _, err = h.f.ListBookings("nope", "", "", 10)
		checkError(t, err, fsm.CodeNotFound, "", "not found")
		_, _, err = h.f.ListBookings(ev, "", "hd_3", 10)
		checkError(t, err, fsm.CodeInvalidArgument, "", "page_token")
	})
}

// ListEventsResponse documents next_page_token as "Empty on the last page",
// and ListEvents keeps to it; ListBookings returns a token whenever the page
// is full, so a last page of exactly limit bookings is followed by an empty one.
func TestListBookingsLastPageToken(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(10)).GetId()
	h.book(gaBook(ev, 1))
	h.book(gaBook(ev, 1))
	bookings, next, err := h.f.ListBookings(ev, "", "", 2)
	if err != nil || len(bookings) != 2 || next != "" {
		t.Errorf("ListBookings(limit 2) with 2 bookings = %d bookings, next %q, %v; want 2 and no next page", len(bookings), next, err)
	}
}
