package edge

import (
	"fmt"
	"slices"
	"strconv"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/errdetail"
)

// Orders: a hold of several items on up to MaxOrderItems events. What the
// edge does per event (waiting rooms, the per-event hold limit, dropping
// cached availability, freeing a room's place) it does for each distinct
// event of an order. A hold of one item goes the way it always went,
// without allocating for the order's sake.

// orderEvent is a distinct event of an order and its first item.
type orderEvent struct {
	id   string
	item int
}

// orderEvents returns the distinct events of an order's items, in the
// order of their first item.
func orderEvents(items []*bookdv1.HoldItem) []orderEvent {
	out := make([]orderEvent, 0, len(items))
	for i, it := range items {
		if !slices.ContainsFunc(out, func(e orderEvent) bool { return e.id == it.GetEventId() }) {
			out = append(out, orderEvent{id: it.GetEventId(), item: i})
		}
	}
	return out
}

// admitHold lets a hold for customer me go to the cluster: the waiting
// room of its events lets it in (an order may include one event with a
// room, as an admission is for one event), and each of its events is
// within the per-event hold limit (all of them, or no token is taken).
func (s *Server) admitHold(me string, req *bookdv1.HoldRequest) error {
	if len(req.GetItems()) == 0 {
		if err := s.checkRoom(me, req, req.GetEventId(), -1); err != nil {
			return err
		}
		if ok, wait := s.eventLimit.allow(req.GetEventId()); !ok {
			return client.Overloaded("too many holds on this event right now; retry shortly", wait)
		}
		return nil
	}
	events := orderEvents(req.GetItems())
	if rs := s.cfg.Rooms; rs != nil {
		gated := -1
		for k, e := range events {
			if !rs.Gated(e.id) {
				continue
			}
			if gated >= 0 {
				return twoRooms(events[gated], e)
			}
			gated = k
		}
		if gated >= 0 {
			if err := s.checkRoom(me, req, events[gated].id, events[gated].item); err != nil {
				return err
			}
		}
	}
	ids := make([]string, len(events))
	for k, e := range events {
		ids[k] = e.id
	}
	if ok, wait := s.eventLimit.allowAll(ids); !ok {
		return client.Overloaded("too many holds on an event of this order right now; retry shortly", wait)
	}
	return nil
}

// checkRoom checks the hold's admission to eventID's waiting room, if it
// has one; item is the order's item on it (-1: a hold of one item).
func (s *Server) checkRoom(me string, req *bookdv1.HoldRequest, eventID string, item int) error {
	rs := s.cfg.Rooms
	if rs == nil {
		return nil
	}
	err := rs.Check(eventID, me, req.GetAdmissionToken())
	if err == nil {
		return nil
	}
	meta := map[string]string{fsm.MetaEvent: eventID}
	if item >= 0 {
		meta[fsm.MetaItem] = strconv.Itoa(item)
	}
	return errdetail.New(connect.CodePermissionDenied, err, ReasonAdmissionRequired, meta)
}

// twoRooms refuses an order with items on two events that have a waiting
// room: one admission token cannot admit it to both.
func twoRooms(first, second orderEvent) error {
	return errdetail.New(connect.CodeInvalidArgument,
		fmt.Errorf("items[%d].event_id: event %s has a waiting room, and so has event %s of items[%d]; an admission is for one event: hold their tickets in separate orders",
			second.item, second.id, first.id, first.item),
		"", map[string]string{fsm.MetaEvent: second.id, fsm.MetaItem: strconv.Itoa(second.item)})
}

// eachEvent calls fn once for each event an object is on: eventID when it
// has no items, else each distinct event of its items.
func eachEvent[T interface{ GetEventId() string }](eventID string, items []T, fn func(eventID string)) {
	if len(items) == 0 {
		fn(eventID)
		return
	}
	for i, it := range items {
		if !slices.ContainsFunc(items[:i], func(o T) bool { return o.GetEventId() == it.GetEventId() }) {
			fn(it.GetEventId())
		}
	}
}

// wroteHold notes a hold placed through this edge on each of its events.
func (s *Server) wroteHold(h *bookdv1.Hold) {
	eachEvent(h.GetEventId(), h.GetItems(), s.wroteTo)
}

// doneHold is done for each event of a hold its customer confirmed or let go.
func (s *Server) doneHold(h *bookdv1.Hold) {
	eachEvent(h.GetEventId(), h.GetItems(), func(eventID string) { s.done(eventID, h.GetCustomerId()) })
}

// touchHold is touch for each event of a hold.
func (s *Server) touchHold(h *bookdv1.Hold) {
	if s.cfg.Rooms == nil {
		return
	}
	eachEvent(h.GetEventId(), h.GetItems(), func(eventID string) { s.touch(eventID, h.GetCustomerId()) })
}
