package edge

import (
	"context"
	"errors"
	"sync"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Live updates. An edge serves WatchChanges for one event at a time and
// only its public changes: what changes the event's availability, with no
// customer, hold, booking, entry, payment or price named. A change of an
// order reaches the watchers of each event it has items on, each shown
// only its own event's items. However many shoppers watch an event, the
// edge holds one stream of it from the cluster (feeds) and fans each
// change out to them.

// publicKinds are the change kinds a stranger may see: they move
// inventory, or end the sale.
var publicKinds = map[string]bool{
	"hold_created": true, "hold_released": true, "hold_expired": true,
	"booking_confirmed": true, "booking_cancelled": true, "booking_items_cancelled": true, "waitlist_offer": true,
	"event_closed": true, "event_cancelled": true,
}

// Bounds of live updates.
const (
	// DefaultMaxWatchers is how many streams an edge serves at once.
	DefaultMaxWatchers = 20_000
	// maxWatchersPerClient bounds one client address's streams.
	maxWatchersPerClient = 16
	// watcherBuffer is the changes a watcher may lag by; one that lags
	// more is ended (it reloads availability and watches again).
	watcherBuffer = 256
)

var (
	errWatchCursor = errors.New("cursor: an edge streams changes from now only (from_now); read availability for the state before")
	errWatchEvent  = errors.New("event_id: required: an edge streams the changes of one event")
	errTooManyRead = errors.New("too many live streams from this client")
	errEdgeFull    = errors.New("this edge serves as many live streams as it can; read availability instead")
	errFellBehind  = errors.New("fell behind the event's changes: read availability and watch again")
)

// publicChange is what a watcher of event is shown of a change, or nil
// when it moves nothing of event. A change of an order (with items) is
// shown as its items on event: their tickets and seats in quantity and
// seats, and each item's category, quantity and seats (no price, amount
// or discount: what someone paid is theirs). Items a booking_cancelled
// lists that were cancelled before it moved their tickets then, not now.
func publicChange(c *bookdv1.Change, event string) *bookdv1.Change {
	pc := &bookdv1.Change{Cursor: c.GetCursor(), Time: c.GetTime(), Kind: c.GetKind(), Type: c.GetType(),
		EventId: c.GetEventId(), Quantity: c.GetQuantity(), Seats: c.GetSeats()}
	if len(c.GetItems()) == 0 {
		return pc
	}
	pc.EventId, pc.Quantity, pc.Seats = event, 0, nil
	for _, it := range c.GetItems() {
		if it.GetEventId() != event || cancelledBefore(it, c) {
			continue
		}
		pc.Quantity += it.GetQuantity()
		pc.Seats = append(pc.Seats, it.GetSeats()...)
		pc.Items = append(pc.Items, &bookdv1.OrderItem{EventId: event, Category: it.GetCategory(),
			Quantity: it.GetQuantity(), Seats: it.GetSeats()})
	}
	if len(pc.Items) == 0 {
		return nil
	}
	return pc
}

// cancelledBefore reports whether an item was cancelled by an earlier
// change than c.
func cancelledBefore(it *bookdv1.OrderItem, c *bookdv1.Change) bool {
	at := it.GetCancelledAt()
	return at != nil && at.AsTime().Before(c.GetTime().AsTime())
}

// feeds holds the cluster streams of watched events and their watchers.
type feeds struct {
	s        *Server
	mu       sync.Mutex
	byEvent  map[string]*feed
	byClient map[string]int
	total    int
}

type feed struct {
	watchers map[*watcher]struct{}
	stop     context.CancelFunc
	// ready is closed once the feed knows where "now" is: every change
	// after it reaches the watchers.
	ready chan struct{}
}

type watcher struct {
	ch chan *bookdv1.Change
	// end is set, under feeds.mu, when the watcher is dropped: why.
	end error
}

func newFeeds(s *Server) *feeds {
	return &feeds{s: s, byEvent: map[string]*feed{}, byClient: map[string]int{}}
}

// join adds a watcher of event for client, starting the event's feed, and
// returns it with the channel closed when the feed is live.
func (f *feeds) join(event, client string) (*watcher, <-chan struct{}, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.total >= f.s.cfg.MaxWatchers:
		return nil, nil, connect.NewError(connect.CodeResourceExhausted, errEdgeFull)
	case f.byClient[client] >= maxWatchersPerClient:
		return nil, nil, connect.NewError(connect.CodeResourceExhausted, errTooManyRead)
	}
	fd, ok := f.byEvent[event]
	if !ok {
		ctx, stop := context.WithCancel(context.Background())
		fd = &feed{watchers: map[*watcher]struct{}{}, stop: stop, ready: make(chan struct{})}
		f.byEvent[event] = fd
		go f.follow(ctx, event, fd)
	}
	w := &watcher{ch: make(chan *bookdv1.Change, watcherBuffer)}
	fd.watchers[w] = struct{}{}
	f.byClient[client]++
	f.total++
	return w, fd.ready, nil
}

// leave removes a watcher; the last one of an event stops its feed.
func (f *feeds) leave(event, client string, w *watcher) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byClient[client]--
	if f.byClient[client] == 0 {
		delete(f.byClient, client)
	}
	f.total--
	fd := f.byEvent[event]
	if fd == nil {
		return
	}
	delete(fd.watchers, w)
	if len(fd.watchers) == 0 {
		fd.stop()
		delete(f.byEvent, event)
	}
}

// follow streams event's changes from the cluster to its watchers until
// the feed stops. A permanent error ends every watcher with it.
func (f *feeds) follow(ctx context.Context, event string, fd *feed) {
	cursor, err := f.s.cfg.Cluster.NowCursor(ctx)
	close(fd.ready)
	if err == nil {
		err = f.s.cfg.Cluster.Watch(ctx, &bookdv1.WatchChangesRequest{EventId: event, Cursor: cursor}, f.fanOut(fd, event))
	}
	if ctx.Err() != nil {
		return
	}
	if connect.CodeOf(err) == connect.CodeUnknown {
		err = connect.NewError(connect.CodeUnavailable, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := range fd.watchers {
		if w.end == nil {
			w.end = err
			close(w.ch)
		}
	}
	if f.byEvent[event] == fd {
		delete(f.byEvent, event)
	}
}

// fanOut hands a change of event to every watcher of fd that keeps up.
func (f *feeds) fanOut(fd *feed, event string) func(*bookdv1.Change) error {
	return func(c *bookdv1.Change) error {
		if !publicKinds[c.GetKind()] {
			return nil
		}
		pc := publicChange(c, event)
		if pc == nil {
			return nil
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for w := range fd.watchers {
			if w.end != nil {
				continue
			}
			select {
			case w.ch <- pc:
			default:
				w.end = connect.NewError(connect.CodeAborted, errFellBehind)
				close(w.ch)
			}
		}
		return nil
	}
}

// WatchChanges streams one event's public changes from now on.
func (p *proxy) WatchChanges(ctx context.Context, req *bookdv1.WatchChangesRequest, stream *connect.ServerStream[bookdv1.WatchChangesResponse]) error {
	switch {
	case req.GetEventId() == "":
		return connect.NewError(connect.CodeInvalidArgument, errWatchEvent)
	case req.GetCursor() != "":
		return connect.NewError(connect.CodeInvalidArgument, errWatchCursor)
	}
	if err := valid(fsm.ValidateEventID("event_id", req.GetEventId())); err != nil {
		return err
	}
	// The event must exist (an unknown one answers as GetEvent does).
	if _, err := p.GetEvent(ctx, &bookdv1.GetEventRequest{EventId: req.GetEventId()}); err != nil {
		return err
	}
	who := ""
	if info, ok := connect.CallInfoForHandlerContext(ctx); ok {
		who = p.s.clientIP(info.Peer().Addr, info.RequestHeader())
	}
	w, ready, err := p.s.feeds.join(req.GetEventId(), who)
	if err != nil {
		return err
	}
	defer p.s.feeds.leave(req.GetEventId(), who, w)
	select {
	case <-ready:
	case <-ctx.Done():
		return nil
	}
	// An empty first message tells the caller it is watching: every change
	// committed from now on will come.
	if err := stream.Send(&bookdv1.WatchChangesResponse{}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case c, ok := <-w.ch:
			if !ok {
				p.s.feeds.mu.Lock()
				end := w.end
				p.s.feeds.mu.Unlock()
				return end
			}
			out := &bookdv1.WatchChangesResponse{Changes: []*bookdv1.Change{c}}
			// Send what else is waiting in the same message.
			for more := true; more && len(out.Changes) < watcherBuffer; {
				select {
				case c, ok := <-w.ch:
					if !ok {
						more = false
						break
					}
					out.Changes = append(out.Changes, c)
				default:
					more = false
				}
			}
			if err := stream.Send(out); err != nil {
				return err
			}
		}
	}
}
