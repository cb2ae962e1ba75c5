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
	var product uint64
	if r.GetProductId() != "" {
		product, _ = parseID(kindProduct, r.GetProductId())
		if _, ok := getValueT(t, key(prefixProd, product)); !ok {
			return nil, notFound("product_id: product %s not found", r.GetProductId()).with(MetaProduct, r.GetProductId())
		}
	}
	for i, id := range r.GetQuotaIds() {
		if _, _, ok := t.quota(id); !ok {
			return nil, notFound("quota_ids[%d]: quota %s not found", i, id).with(MetaQuota, id)
		}
	}
	layout, labels, blocked := buildLayout(r.GetSections(), r.GetSeats())
	if err := checkSeatLabels(labels); err != nil {
		return nil, err // a seat given by label repeats one of the seat map
	}
	ev := &bookdv1.Event{
		Id:                    formatID(kindEvent, t.index),
		Name:                  r.GetName(),
		StartsAt:              r.GetStartsAt(),
		Capacity:              r.GetCapacity(),
		CreatedAt:             t.timestamp(),
		ProductId:             r.GetProductId(),
		Sections:              r.GetSections(),
		Status:                bookdv1.EventStatus_EVENT_STATUS_ON_SALE,
		MaxTicketsPerCustomer: r.GetMaxTicketsPerCustomer(),
		MaxTicketsPerHold:     r.GetMaxTicketsPerHold(),
		WaitlistOfferTtl:      r.GetWaitlistOfferTtl(),
		Categories:            withCurrency(r.GetCategories()),
		TimeZone:              r.GetTimeZone(),
		QuotaIds:              r.GetQuotaIds(),
	}
	// The seat list is stored apart so that claims, which read the event
	// on every command, do not decode thousands of labels.
	t.setProto(key(prefixEvent, t.index), ev)
	if len(labels) > 0 {
		t.setProto(key(prefixLabels, t.index), &bookdv1.Event{Seats: labels})
		t.setProto(key(prefixLayout, t.index), layout)
	}
	starts := timestampNanos(r.GetStartsAt())
	t.set(startsKey(prefixStarts, starts, t.index), nil)
	if product != 0 {
		t.set(startsKey(u64(append([]byte{}, prefixProdEv...), product), starts, t.index), nil)
	}
	t.setProto(key(prefixCount, t.index), &EventCounters{Seats: int64(len(labels)), BlockedSeats: int64(len(blocked))})
	for i, s := range labels {
		t.set(seatKey(t.index, s), encodeSeatNo(uint32(i)))
	}
	for c, chunk := range newSeatChunks(labels, blocked) {
		t.set(seatChunkKey(t.index, uint32(c)), chunk)
	}
	t.feed(&Change{Kind: "event_created", EventId: ev.Id, ProductId: ev.ProductId, Quantity: ev.Capacity})
	out := proto.Clone(ev).(*bookdv1.Event)
	out.Seats = labels
	return &bookdv1.CreateEventResponse{Event: out}, nil
}

func (t *txn) closeEvent(r *bookdv1.CloseEventRequest) (proto.Message, *Error) {
	if err := ValidateEventID("event_id", r.GetEventId()); err != nil {
		return nil, err
	}
	idx, ev, _, err := t.event("event_id", r.GetEventId())
	if err != nil {
		return nil, err
	}
	if err := onSale(ev); err != nil {
		return nil, err
	}
	ev = t.setStatus(idx, ev, bookdv1.EventStatus_EVENT_STATUS_CLOSED)
	t.feed(&Change{Kind: "event_closed", EventId: ev.Id, ProductId: ev.ProductId})
	t.dropWaitlist(idx)
	return &bookdv1.CloseEventResponse{Event: t.withLabels(idx, ev)}, nil
}

func (t *txn) cancelEvent(r *bookdv1.CancelEventRequest) (proto.Message, *Error) {
	if err := ValidateEventID("event_id", r.GetEventId()); err != nil {
		return nil, err
	}
	idx, ev, counters, err := t.event("event_id", r.GetEventId())
	if err != nil {
		return nil, err
	}
	if ev.GetStatus() == bookdv1.EventStatus_EVENT_STATUS_CANCELLED {
		return nil, errorf(CodeFailedPrecondition, ReasonEventCancelled, "event %s is already cancelled", ev.GetId()).with(MetaEvent, ev.GetId())
	}
	ev = t.setStatus(idx, ev, bookdv1.EventStatus_EVENT_STATUS_CANCELLED)
	t.feed(&Change{Kind: "event_cancelled", EventId: ev.Id, ProductId: ev.ProductId,
		Quantity: counters.GetBookedQuantity() + counters.GetBookedSeats()})
	t.dropWaitlist(idx)
	released := t.releaseEventHolds(idx, ev.GetId())
	return &bookdv1.CancelEventResponse{Event: t.withLabels(idx, ev), ReleasedHolds: released,
		TicketsToRefund: counters.GetBookedQuantity() + counters.GetBookedSeats()}, nil
}

// setStatus stores an event with a new status. The cached event is shared,
// so it is replaced, never changed.
func (t *txn) setStatus(idx uint64, ev *bookdv1.Event, status bookdv1.EventStatus) *bookdv1.Event {
	ev = proto.Clone(ev).(*bookdv1.Event)
	ev.Status = status
	t.setProto(key(prefixEvent, idx), ev)
	t.f.events.put(idx, ev)
	return ev
}

// withLabels is a copy of a stored event with its seat labels, which are
// stored apart, for a response.
func (t *txn) withLabels(idx uint64, ev *bookdv1.Event) *bookdv1.Event {
	out := proto.Clone(ev).(*bookdv1.Event)
	labels := new(bookdv1.Event)
	t.getProto(key(prefixLabels, idx), labels)
	out.Seats = labels.GetSeats()
	return out
}

// onSale refuses claims on an event whose sales stopped. Events stored
// before statuses existed have none, and are on sale.
func onSale(ev *bookdv1.Event) *Error {
	switch ev.GetStatus() {
	case bookdv1.EventStatus_EVENT_STATUS_CLOSED:
		return errorf(CodeFailedPrecondition, ReasonEventClosed, "event %s is closed: sales have stopped", ev.GetId()).with(MetaEvent, ev.GetId())
	case bookdv1.EventStatus_EVENT_STATUS_CANCELLED:
		return errorf(CodeFailedPrecondition, ReasonEventCancelled, "event %s is cancelled", ev.GetId()).with(MetaEvent, ev.GetId())
	}
	return nil
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
		return 0, nil, nil, notFound("event %s not found", id).with(MetaEvent, id)
	}
	counters := t.eventCounters(idx)
	return idx, ev, counters, nil
}

func getValueT(t *txn, k []byte) ([]byte, bool) {
	v, ok, err := getValue(t.b, k)
	must(err)
	return v, ok
}

func (t *txn) timestamp() *timestamppb.Timestamp { return nanosToTimestamp(t.now) }

func nanosToTimestamp(ns int64) *timestamppb.Timestamp {
	return &timestamppb.Timestamp{Seconds: ns / 1e9, Nanos: int32(ns % 1e9)}
}
