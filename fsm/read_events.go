package fsm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
)

// EventFilter selects events for ListEvents. Zero values select everything.
type EventFilter struct {
	ProductID    string
	StartsAfter  int64 // Unix ns, inclusive
	StartsBefore int64 // Unix ns, exclusive; 0 for no bound
	Query        string
	MinAvailable int64
}

// ListEvents returns up to limit events that pass the filter, by start time
// then id, after the page token of a previous page ("" for the first), and
// the token of the next page ("" when there is none).
func (f *FSM) ListEvents(filter EventFilter, pageToken string, limit int) ([]*bookdv1.Event, string, error) {
	if limit <= 0 {
		return nil, "", nil
	}
	prefix := prefixStarts
	if filter.ProductID != "" {
		product, ok := parseID(kindProduct, filter.ProductID)
		if !ok {
			return nil, "", invalid("product_id: %q is not a product id (like pr_12)", clip(filter.ProductID))
		}
		prefix = u64(append([]byte{}, prefixProdEv...), product)
	}
	from := max(filter.StartsAfter, 0)
	if filter.StartsBefore > 0 {
		from = max(from, 1) // an event without a start time starts before nothing
	}
	start := startsKey(prefix, from, 0)
	if pageToken != "" {
		starts, event, ok := parsePageToken(pageToken)
		if !ok {
			return nil, "", invalid("page_token: %q is not a page token of ListEvents", clip(pageToken))
		}
		if after := startsKey(prefix, starts, event+1); bytes.Compare(after, start) > 0 {
			start = after
		}
	}
	end := prefixEnd(prefix)
	if filter.StartsBefore > 0 {
		end = startsKey(prefix, filter.StartsBefore, 0)
	}
	query := strings.ToLower(filter.Query)
	var events []*bookdv1.Event
	next := ""
	err := f.view(func(r pebble.Reader) error {
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: start, UpperBound: end})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			k := it.Key()[len(prefix):]
			event := binary.BigEndian.Uint64(k[8:])
			ev := new(bookdv1.Event)
			if ok, err := getProto(r, key(prefixEvent, event), ev); err != nil || !ok {
				return fmt.Errorf("fsm: start-time index names event %d: found %v, %w", event, ok, err)
			}
			if query != "" && !strings.Contains(strings.ToLower(ev.GetName()), query) {
				continue
			}
			if filter.MinAvailable > 0 {
				c := new(EventCounters)
				if _, err := getProto(r, key(prefixCount, event), c); err != nil {
					return err
				}
				if onSale(ev) != nil || available(ev, c) < filter.MinAvailable {
					continue
				}
			}
			if len(events) == limit {
				// Another event passes the filter: the previous one is the
				// last of this page. (Checked only now, so that a page is
				// not followed by an empty one.)
				last := events[len(events)-1]
				n, _ := parseID(kindEvent, last.GetId())
				next = formatPageToken(timestampNanos(last.GetStartsAt()), n)
				return nil
			}
			if err := readLabels(r, ev); err != nil {
				return err
			}
			events = append(events, ev)
		}
		return nil
	})
	return events, next, err
}

// available is what an event has free: GA tickets and seats.
func available(ev *bookdv1.Event, c *EventCounters) int64 {
	return ev.GetCapacity() - c.GetHeldQuantity() - c.GetBookedQuantity() +
		c.GetSeats() - c.GetBlockedSeats() - c.GetHeldSeats() - c.GetBookedSeats()
}

func formatPageToken(starts int64, event uint64) string {
	return strconv.FormatInt(starts, 36) + "." + strconv.FormatUint(event, 36)
}

func parsePageToken(s string) (int64, uint64, bool) {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return 0, 0, false
	}
	starts, err1 := strconv.ParseInt(a, 36, 64)
	event, err2 := strconv.ParseUint(b, 36, 64)
	return starts, event, err1 == nil && err2 == nil && starts >= 0
}

// ListProducts returns up to limit products created after the one named by
// after ("" for the first page), and the id to pass for the next page.
func (f *FSM) ListProducts(after string, limit int) ([]*bookdv1.Product, string, error) {
	start := prefixProd
	if after != "" {
		idx, ok := parseID(kindProduct, after)
		if !ok {
			return nil, "", invalid("page_token: %q is not a page token", clip(after))
		}
		start = key(prefixProd, idx+1)
	}
	var products []*bookdv1.Product
	more, err := f.scan(start, prefixEnd(prefixProd), limit, func(_, v []byte) error {
		p := new(bookdv1.Product)
		products = append(products, p)
		return proto.Unmarshal(v, p)
	})
	next := ""
	if more {
		next = products[len(products)-1].GetId()
	}
	return products, next, err
}
