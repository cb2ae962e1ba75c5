package rpc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// watchPage bounds the changes read, and sent in one message, at a time.
const watchPage = 256

// WatchChanges streams the change feed from this node's applied state: a
// follower's stream is the leader's, possibly later. It ends when the client
// goes away or the server stops.
func (h *BookingHandler) WatchChanges(ctx context.Context, req *bookdv1.WatchChangesRequest, stream *connect.ServerStream[bookdv1.WatchChangesResponse]) error {
	f := h.s.node.FSM()
	if id := req.GetEventId(); id != "" {
		if err := check(fsm.ValidateEventID("event_id", id)); err != nil {
			return err
		}
		if err := h.eventExists(ctx, id); err != nil {
			return err
		}
	}
	index, seq, err := parseCursor(req.GetCursor())
	switch {
	case err != nil:
		return err
	case req.GetFromNow() && req.GetCursor() != "":
		return invalidArgument("from_now: give a cursor or from_now, not both")
	case req.GetFromNow():
		// "Now" is the leader's: a follower that lags would otherwise
		// stream changes made before the call.
		if err := h.s.catchUp(ctx); err != nil {
			return err
		}
		// Every change of an applied entry is stored with it.
		index, seq = f.AppliedIndex(), math.MaxUint32
	}
	opened := false
	for {
		changed := f.AppliedChanged()
		changes, more, err := f.Changes(index, seq, watchPage)
		if err != nil {
			return toConnect(err)
		}
		out := &bookdv1.WatchChangesResponse{}
		for _, c := range changes {
			index, seq = c.GetIndex(), c.GetSeq()
			if req.GetEventId() == "" || fsm.ChangeTouches(c, req.GetEventId()) {
				out.Changes = append(out.Changes, fsm.PublicChange(c))
			}
		}
		switch {
		case len(out.Changes) > 0:
			if err := stream.Send(out); err != nil {
				return err
			}
		case !opened:
			// Nothing to send yet: send the headers, so the client's call
			// returns (errors such as OUT_OF_RANGE came before this).
			if err := stream.Send(nil); err != nil {
				return err
			}
		}
		opened = true
		if more {
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return toConnect(ctx.Err())
		case <-h.s.stopping:
			return connect.NewError(connect.CodeUnavailable, errors.New("node is shutting down; resume from the last cursor on another node"))
		}
	}
}

// eventExists answers NOT_FOUND for an event that does not exist. A node
// that has not applied the event yet asks the leader, so that a watcher on
// a lagging follower is not refused an event just created.
func (h *BookingHandler) eventExists(ctx context.Context, id string) error {
	if _, err := h.s.node.FSM().Event(id); err == nil || h.s.node.IsLeader() {
		return toConnect(err)
	}
	_, err := toLeader(ctx, h.s, func(ctx context.Context, p *peer) (*bookdv1.GetEventResponse, error) {
		return p.booking.GetEvent(ctx, &bookdv1.GetEventRequest{EventId: id})
	})
	return err
}

func parseCursor(s string) (uint64, uint32, error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	index, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil || index == 0 {
		return 0, 0, invalidArgument("cursor: %q is not a change cursor (like 1234-0)", fmt.Sprintf("%.40s", s))
	}
	return index, uint32(seq), nil
}
