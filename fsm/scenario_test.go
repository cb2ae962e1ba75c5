package fsm_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Data-driven scenarios: each file of testdata/scenarios is a list of
// blocks separated by blank lines. A block is a command, optional input
// lines, "----", and the expected output:
//
//	hold
//	event_id: "ev_1" customer_id: "alice" quantity: 4 ttl { seconds: 60 }
//	----
//	ok hold hd_2 alice q=4 expires=+1m0s ACTIVE
//
// Commands: "at <duration>" sets the clock to t0+duration; a mutation's
// name (create_product, create_event, close_event, cancel_event, hold,
// confirm, release_hold, extend_hold, book, cancel_booking, join_waitlist,
// leave_waitlist, expire_holds, purge) applies its request, given in
// prototext; "feed" lists the changes since the last "feed"; "avail <event>",
// "hold <id>" (with an id and no input), "entry <id>" read, as of the
// clock set by "at" (holds due by then are expired). Run with
// -rewrite to write the actual outputs into the files.

var rewrite = flag.Bool("rewrite", false, "write the actual outputs of testdata/scenarios into the files")

// requests maps a scenario command to a new request of its type.
var requests = map[string]func() proto.Message{
	"create_product": func() proto.Message { return new(bookdv1.CreateProductRequest) },
	"create_event":   func() proto.Message { return new(bookdv1.CreateEventRequest) },
	"close_event":    func() proto.Message { return new(bookdv1.CloseEventRequest) },
	"cancel_event":   func() proto.Message { return new(bookdv1.CancelEventRequest) },
	"hold":           func() proto.Message { return new(bookdv1.HoldRequest) },
	"confirm":        func() proto.Message { return new(bookdv1.ConfirmRequest) },
	"release_hold":   func() proto.Message { return new(bookdv1.ReleaseHoldRequest) },
	"extend_hold":    func() proto.Message { return new(bookdv1.ExtendHoldRequest) },
	"book":           func() proto.Message { return new(bookdv1.BookRequest) },
	"cancel_booking": func() proto.Message { return new(bookdv1.CancelBookingRequest) },
	"join_waitlist":  func() proto.Message { return new(bookdv1.JoinWaitlistRequest) },
	"leave_waitlist": func() proto.Message { return new(bookdv1.LeaveWaitlistRequest) },
	"expire_holds":   func() proto.Message { return new(fsmv1.ExpireHolds) },
	"purge":          func() proto.Message { return new(fsmv1.Purge) },
}

type block struct {
	line    int // of the command, from 1
	command string
	input   string
	want    string
}

func parseScenario(t *testing.T, data string) []block {
	t.Helper()
	var blocks []block
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		if l := strings.TrimSpace(lines[i]); l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		b := block{line: i + 1, command: strings.TrimSpace(lines[i])}
		var input, want []string
		for i++; i < len(lines) && lines[i] != "----"; i++ {
			input = append(input, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("line %d: block without ----", b.line)
		}
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			want = append(want, lines[i])
		}
		b.input, b.want = strings.Join(input, "\n"), strings.Join(want, "\n")
		blocks = append(blocks, b)
	}
	return blocks
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s := &scenario{h: newHarness(t)}
			var out strings.Builder
			last := 0
			for _, b := range parseScenario(t, string(data)) {
				got := s.run(t, b)
				if got != b.want && !*rewrite {
					t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", file, b.line, b.command, got, b.want)
				}
				// Keep what precedes the output (comments, the command, its input).
				lines := strings.Split(string(data), "\n")
				end := b.line
				for end < len(lines) && lines[end-1] != "----" {
					end++
				}
				out.WriteString(strings.Join(lines[last:end], "\n") + "\n")
				if got != "" {
					out.WriteString(got + "\n")
				}
				last = end + strings.Count(b.want, "\n") + min(1, len(b.want))
			}
			if *rewrite {
				out.WriteString(strings.Join(strings.Split(string(data), "\n")[min(last, strings.Count(string(data), "\n")+1):], "\n"))
				if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// scenario is the state of one scenario file being run.
type scenario struct {
	h        *harness
	feedFrom *fsm.Change // the last change "feed" listed
}

func (s *scenario) run(t *testing.T, b block) string {
	h := s.h
	name, arg, _ := strings.Cut(b.command, " ")
	switch name {
	case "at":
		d, err := time.ParseDuration(arg)
		if err != nil {
			t.Fatalf("line %d: %v", b.line, err)
		}
		h.at(d)
		return ""
	case "feed":
		var changes []*fsm.Change
		if s.feedFrom == nil {
			changes = allChanges(t, h.f)
		} else {
			changes = changesAfter(t, h.f, s.feedFrom)
		}
		if len(changes) == 0 {
			return "(none)"
		}
		s.feedFrom = changes[len(changes)-1]
		lines := make([]string, len(changes))
		for i, c := range changes {
			lines[i] = describeChange(c)
		}
		return strings.Join(lines, "\n")
	case "avail":
		a, err := h.f.Availability(arg, h.now)
		if err != nil {
			return errorLine(err)
		}
		return describeAvail(a)
	case "entry":
		e, pos, err := h.f.WaitlistEntry(arg)
		if err != nil {
			return errorLine(err)
		}
		return fmt.Sprintf("%s position=%d", describe(e), pos)
	}
	if name == "hold" && arg != "" {
		hd, err := h.f.Hold(arg, h.now)
		if err != nil {
			return errorLine(err)
		}
		return describe(hd)
	}
	newReq, ok := requests[name]
	if !ok || arg != "" {
		t.Fatalf("line %d: unknown command %q", b.line, b.command)
	}
	req := newReq()
	if err := prototext.Unmarshal([]byte(b.input), req); err != nil {
		t.Fatalf("line %d: %s: %v", b.line, name, err)
	}
	res := h.do(req)
	if res.Err != nil {
		return errorLine(res.Err)
	}
	return "ok " + describe(res.Response)
}

func errorLine(err error) string {
	e, ok := err.(*fsm.Error)
	if !ok {
		return "error " + err.Error()
	}
	codes := map[fsm.Code]string{fsm.CodeInvalidArgument: "INVALID_ARGUMENT", fsm.CodeNotFound: "NOT_FOUND",
		fsm.CodeFailedPrecondition: "FAILED_PRECONDITION", fsm.CodeAlreadyExists: "ALREADY_EXISTS", fsm.CodeOutOfRange: "OUT_OF_RANGE"}
	reason := ""
	if e.Reason != "" {
		reason = " " + e.Reason
	}
	return fmt.Sprintf("error %s%s: %s", codes[e.Code], reason, e.Message)
}

// rel renders a time as an offset from t0.
func rel(ts *timestamppb.Timestamp) string {
	return "+" + time.Duration(ts.AsTime().UnixNano()-t0).String()
}

func seatList(seats []string) string {
	if len(seats) == 0 {
		return ""
	}
	return " seats=" + strings.Join(seats, ",")
}

func describe(m proto.Message) string {
	switch r := m.(type) {
	case *bookdv1.CreateProductResponse:
		return "product " + r.GetProduct().GetId()
	case *bookdv1.CreateEventResponse:
		return describe(r.GetEvent())
	case *bookdv1.CloseEventResponse:
		return describe(r.GetEvent())
	case *bookdv1.CancelEventResponse:
		return fmt.Sprintf("%s released_holds=%d tickets_to_refund=%d", describe(r.GetEvent()), r.GetReleasedHolds(), r.GetTicketsToRefund())
	case *bookdv1.Event:
		return fmt.Sprintf("event %s %s", r.GetId(), strings.TrimPrefix(r.GetStatus().String(), "EVENT_STATUS_"))
	case *bookdv1.HoldResponse:
		return describe(r.GetHold())
	case *bookdv1.ExtendHoldResponse:
		return describe(r.GetHold())
	case *bookdv1.ReleaseHoldResponse:
		return describe(r.GetHold())
	case *bookdv1.Hold:
		return fmt.Sprintf("hold %s %s q=%d%s expires=%s %s", r.GetId(), r.GetCustomerId(), r.GetQuantity(), seatList(r.GetSeats()),
			rel(r.GetExpiresAt()), strings.TrimPrefix(r.GetStatus().String(), "HOLD_STATUS_"))
	case *bookdv1.ConfirmResponse:
		return describe(r.GetBooking())
	case *bookdv1.BookResponse:
		return describe(r.GetBooking())
	case *bookdv1.CancelBookingResponse:
		return describe(r.GetBooking())
	case *bookdv1.Booking:
		return fmt.Sprintf("booking %s %s q=%d%s %s", r.GetId(), r.GetCustomerId(), r.GetQuantity(), seatList(r.GetSeats()),
			strings.TrimPrefix(r.GetStatus().String(), "BOOKING_STATUS_"))
	case *bookdv1.JoinWaitlistResponse:
		return describe(r.GetEntry())
	case *bookdv1.LeaveWaitlistResponse:
		return describe(r.GetEntry())
	case *bookdv1.WaitlistEntry:
		s := fmt.Sprintf("entry %s %s q=%d %s", r.GetId(), r.GetCustomerId(), r.GetQuantity(), strings.TrimPrefix(r.GetStatus().String(), "WAITLIST_STATUS_"))
		if r.GetHoldId() != "" {
			s += " offer=" + r.GetHoldId()
		}
		return s
	case *fsmv1.ExpireHolds:
		return "expire_holds"
	case *fsmv1.Purge:
		return "purge"
	}
	return fmt.Sprintf("%T", m)
}

func describeChange(c *fsm.Change) string {
	s := fmt.Sprintf("%d-%d +%s %s %s", c.GetIndex(), c.GetSeq(), time.Duration(c.GetTimeUnixNanos()-t0), c.GetKind(), c.GetEventId())
	for _, f := range []string{c.GetHoldId(), c.GetBookingId(), c.GetWaitlistEntryId(), c.GetCustomerId()} {
		if f != "" {
			s += " " + f
		}
	}
	return s + fmt.Sprintf(" q=%d%s", c.GetQuantity(), seatList(c.GetSeats()))
}

func describeAvail(a *bookdv1.GetAvailabilityResponse) string {
	s := fmt.Sprintf("%s available=%d held=%d booked=%d", strings.TrimPrefix(a.GetStatus().String(), "EVENT_STATUS_"),
		a.GetAvailableQuantity(), a.GetHeldQuantity(), a.GetBookedQuantity())
	if a.GetHeldSeats()+a.GetBookedSeats()+a.GetBlockedSeats()+int64(len(a.GetFreeSeats())) > 0 {
		s += fmt.Sprintf(" held_seats=%d booked_seats=%d blocked_seats=%d%s", a.GetHeldSeats(), a.GetBookedSeats(), a.GetBlockedSeats(),
			strings.Replace(seatList(a.GetFreeSeats()), "seats=", "free=", 1))
	}
	return s + fmt.Sprintf(" waitlist=%d", a.GetWaitlistLength())
}
