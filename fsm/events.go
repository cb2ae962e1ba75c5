package fsm

import (
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func (t *txn) createEvent(r *bookdv1.CreateEventRequest) (proto.Message, *Error) {
	if err := ValidateCreateEvent(r); err != nil {
		return nil, err
	}
	ev := &bookdv1.Event{
		Id:        formatID(kindEvent, t.index),
		Name:      r.GetName(),
		StartsAt:  r.GetStartsAt(),
		Capacity:  r.GetCapacity(),
		CreatedAt: t.timestamp(),
	}
	// The seat list is stored apart so that claims, which read the event
	// on every command, do not decode thousands of labels.
	t.setProto(key(prefixEvent, t.index), ev)
	if len(r.GetSeats()) > 0 {
		ev.Seats = r.GetSeats()
		t.setProto(key(prefixLabels, t.index), &bookdv1.Event{Seats: ev.Seats})
	}
	t.setProto(key(prefixCount, t.index), &EventCounters{})
	free := seatValue{}.encode()
	for _, s := range r.GetSeats() {
		t.set(seatKey(t.index, s), free) // not in the seat cache: there may be 100,000
	}
	t.feed(&Change{Kind: "event_created", EventId: ev.Id, Quantity: ev.Capacity, Seats: ev.Seats})
	return &bookdv1.CreateEventResponse{Event: ev}, nil
}

// event loads an event and its counters by id. Both are shared with the
// caches: the event must not be changed, the counters only through shift.
func (t *txn) event(field, id string) (uint64, *bookdv1.Event, *EventCounters, *Error) {
	idx, ok := parseID(kindEvent, id)
	if !ok {
		return 0, nil, nil, invalid("%s: %q is not an event id", field, clip(id))
	}
	ev := t.cachedEvent(idx)
	if ev == nil {
		return 0, nil, nil, notFound("event %s not found", id)
	}
	counters := t.eventCounters(idx)
	return idx, ev, counters, nil
}

func (t *txn) timestamp() *timestamppb.Timestamp { return nanosToTimestamp(t.now) }

func nanosToTimestamp(ns int64) *timestamppb.Timestamp {
	return &timestamppb.Timestamp{Seconds: ns / 1e9, Nanos: int32(ns % 1e9)}
}
