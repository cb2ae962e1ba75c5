package waitroom

import "time"

// State is where a ticket stands.
type State string

// States of a ticket.
const (
	// StatePreQueue: waiting for the on-sale time, position not yet drawn.
	StatePreQueue State = "pre_queue"
	// StateWaiting: in the queue at Position.
	StateWaiting State = "waiting"
	// StateAdmitted: may shop; Token proves it.
	StateAdmitted State = "admitted"
	// StateSoldOut: holds and bookings cover the event, or its sales
	// stopped (closed or cancelled); no one is admitted (said to tickets
	// that wait; they keep their place).
	StateSoldOut State = "sold_out"
	// StateDone: the ticket's shopper confirmed or let go of its hold
	// (Rooms.Finish). There is no token; the identity is not admitted again
	// until its admission would have run out (Status.AdmittedUntil), when
	// the room forgets the ticket and joining again queues anew.
	StateDone State = "done"
)

// Status is what a waiting person (or API client) is told.
type Status struct {
	EventID string `json:"event_id"`
	Ticket  string `json:"ticket"`
	State   State  `json:"state"`
	// Position in the queue, 1 being next; 0 unless waiting.
	Position int `json:"position,omitempty"`
	// EstimatedWaitMs estimates the wait from Position and the rate.
	EstimatedWaitMs int64 `json:"estimated_wait_ms,omitempty"`
	// PreQueue is how many wait for the on-sale time (pre_queue only).
	PreQueue int `json:"pre_queue,omitempty"`
	// OnSale is when admission starts, if the room has an on-sale time.
	OnSale *time.Time `json:"on_sale,omitempty"`
	// Token is set while admitted; AdmittedUntil, when the admission (and
	// the token) runs out, while admitted or done.
	Token         string     `json:"token,omitempty"`
	AdmittedUntil *time.Time `json:"admitted_until,omitempty"`
}
