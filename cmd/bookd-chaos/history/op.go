package history

import "fmt"

// Kind is what an operation does.
type Kind uint8

const (
	// Hold claims Qty places (or the seat) for TTL.
	Hold Kind = iota + 1
	// Book claims Qty places (or the seat) outright.
	Book
	// Confirm turns hold Ref into a booking.
	Confirm
	// Release gives hold Ref back.
	Release
	// Cancel cancels booking Ref.
	Cancel
	// Read observes how many places are available (a seat: 1 free, 0 not).
	Read
)

func (k Kind) String() string {
	switch k {
	case Hold:
		return "hold"
	case Book:
		return "book"
	case Confirm:
		return "confirm"
	case Release:
		return "release"
	case Cancel:
		return "cancel"
	case Read:
		return "read"
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Result is how an operation ended.
type Result uint8

const (
	// OK: the cluster acknowledged it.
	OK Result = iota + 1
	// Refused: the cluster definitely did not do it, for Reason.
	Refused
	// Unknown: no answer; it may or may not have happened.
	Unknown
)

// Reasons the model tells apart (the Bookd-Reason values clients receive).
const (
	ReasonTaken     = "TAKEN" // SOLD_OUT or SEAT_TAKEN
	ReasonExpired   = "HOLD_EXPIRED"
	ReasonReleased  = "HOLD_RELEASED"
	ReasonConfirmed = "HOLD_CONFIRMED"
	ReasonCancelled = "BOOKING_CANCELLED"
)

// Input is what a client asked.
type Input struct {
	Seq      int    // unique per operation; names what an unknown outcome created
	Kind     Kind   //
	Counter  string // the event id, or "event/seat"
	Capacity int64  // the counter's capacity (1 for a seat)
	Qty      int64  // places claimed by Hold and Book
	TTL      int64  // Hold's time to live, ns
	Ref      string // the hold (Confirm, Release) or booking (Cancel) acted on
	Key      string // the idempotency key of a write
	Call     int64  // invoke time, Unix ns
}

// Output is what the client was told.
type Output struct {
	Result    Result
	Reason    string // for Refused
	ID        string // the hold (Hold) or booking (Book, Confirm) created
	Expires   int64  // the hold's expiry, Unix ns, for Hold
	Available int64  // for Read
	Return    int64  // return time, Unix ns; for Unknown, the end of the history
	// MaybeUnlogged marks a refusal of a claim sent as a BatchWrite first
	// attempt: the leader may have given it from its state, after a read
	// barrier, without a command. Such a refusal observes the state like a
	// read, and like a read it tells nothing of the clock.
	MaybeUnlogged bool
}

// Op is one operation of the history.
type Op struct {
	Client int
	In     Input
	Out    Output
}

func (in Input) String() string {
	switch in.Kind {
	case Hold, Book:
		return fmt.Sprintf("%s %d of %s", in.Kind, in.Qty, in.Counter)
	case Read:
		return fmt.Sprintf("read %s", in.Counter)
	}
	return fmt.Sprintf("%s %s", in.Kind, in.Ref)
}

func (out Output) String() string {
	switch out.Result {
	case Refused:
		if out.MaybeUnlogged {
			return "refused " + out.Reason + " (first attempt)"
		}
		return "refused " + out.Reason
	case Unknown:
		return "unknown"
	}
	if out.ID != "" {
		return "ok " + out.ID
	}
	return fmt.Sprintf("ok %d", out.Available)
}
