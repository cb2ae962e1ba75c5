package fsm

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// The Pebble key layout, the one place that knows it. Numbers are big-endian
// so that keys sort in numeric order.
//
//	m/applied                      last applied Raft index (8 bytes)
//	m/clock                        state machine time, Unix ns (8 bytes)
//	m/layout                       stateLayout of the keys below (8 bytes)
//	m/feedstart                    fsmv1.FeedStart: the change feed was purged up to it
//	p/<product>                    bookd.v1.Product
//	e/<event>                      bookd.v1.Event without its seats
//	es/<event>                     bookd.v1.Event holding only the seat labels
//	sl/<event>                     fsmv1.SeatLayout (the seats in rows)
//	c/<event>                      fsmv1.EventCounters
//	s/<event><label>               seat number (seats.go)
//	ss/<event><chunk>              states of a chunk of seats (seats.go)
//	t/<event><customer>            tickets of a customer in live holds and bookings (8 bytes)
//	w/<entry>                      bookd.v1.WaitlistEntry
//	h/<hold>                       bookd.v1.Hold
//	b/<booking>                    bookd.v1.Booking
//	x/exp/<expires ns><hold>       index of active holds by expiry
//	x/eb/<event><booking>          index of bookings by event
//	x/cb/<customer>0<booking>      index of bookings by customer
//	x/st/<starts ns><event>        index of events by start time
//	x/ps/<product><starts ns><event> index of a product's events by start time
//	x/wl/<event><entry>            the waiting entries of an event's waitlist
//	x/ik/<created ns><raft index>  the idempotency records an entry wrote, by age (idemage.go)
//	i/<key>0<scope>                fsmv1.IdempotencyRecord
//	f/<raft index><seq>            fsmv1.Change (the change feed)
//	n/<member id>                  member RPC address
//	a/<ticket>                     fsmv1.AdmissionUse: what an admission ticket has spent (admission.go)
//	x/ax/<expires ns><ticket>      spent admission tickets by their token's expiry, for purging
//	q/<queue>                      fsmv1.QueueState: a work queue and its counters (queues.go)
//	qm/<queue>0<n>                 fsmv1.QueueRecord: live message n of the queue
//	qv/<queue>0<visible ns><n>     live messages by when they may next be received
//	qo/<queue>0<order key>0<n>     live messages of a queue ordered by booking, by order key
//	qd/<queue>0<n>                 fsmv1.QueueRecord: a dead letter
//	qt/<quota>                     bookd.v1.Quota with the tickets it has taken (quotas.go)
//	vc/<code>                      bookd.v1.Voucher with its redemptions (vouchers.go)
//
// <customer> and <key> are followed by a 0 byte, which they cannot
// contain (checkText refuses control characters). An idempotency record
// leads with its key, not its scope: keys the client package makes start
// with their creation time (client.NewIdempotencyKey), so fresh records
// land next to each other at the end of the family, which costs the
// memtable a step each instead of a search from the top (a scope leading
// with a customer put each at a random place).
// <event>, <hold>, <booking>, <product> and <entry> are the 8-byte number of the command that
// created them (objectNumber: Raft index and position in the entry).
var (
	keyApplied        = []byte("m/applied")
	keyClock          = []byte("m/clock")
	keyLayout         = []byte("m/layout")
	keyFeedStart      = []byte("m/feedstart")
	prefixProd        = []byte("p/")
	prefixLayout      = []byte("sl/")
	prefixTicket      = []byte("t/")
	prefixWait        = []byte("w/")
	prefixCuBook      = []byte("x/cb/")
	prefixStarts      = []byte("x/st/")
	prefixProdEv      = []byte("x/ps/")
	prefixWaitEv      = []byte("x/wl/")
	prefixIdemAt      = []byte("x/ik/")
	prefixEvent       = []byte("e/")
	prefixLabels      = []byte("es/")
	prefixCount       = []byte("c/")
	prefixSeat        = []byte("s/")
	prefixSeatState   = []byte("ss/")
	prefixHold        = []byte("h/")
	prefixBook        = []byte("b/")
	prefixExpiry      = []byte("x/exp/")
	prefixEvBook      = []byte("x/eb/")
	prefixIdem        = []byte("i/")
	prefixFeed        = []byte("f/")
	prefixMember      = []byte("n/")
	prefixAdmission   = []byte("a/")
	prefixAdmissionAt = []byte("x/ax/")
	prefixQueue       = []byte("q/")
	prefixQueueMsg    = []byte("qm/")
	prefixQueueDue    = []byte("qv/")
	prefixQueueOrder  = []byte("qo/")
	prefixQueueDead   = []byte("qd/")
	prefixQuota       = []byte("qt/")
	prefixVoucher     = []byte("vc/")
)

func u64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func key(prefix []byte, ids ...uint64) []byte {
	k := make([]byte, 0, len(prefix)+8*len(ids))
	k = append(k, prefix...)
	for _, id := range ids {
		k = u64(k, id)
	}
	return k
}

func expiryKey(expiresAt int64, hold uint64) []byte {
	return key(prefixExpiry, uint64(expiresAt), hold)
}

func idemKey(scope, k string) []byte {
	b := make([]byte, 0, len(prefixIdem)+len(k)+1+len(scope))
	b = append(b, prefixIdem...)
	b = append(b, k...)
	b = append(b, 0)
	return append(b, scope...)
}

func ticketKey(event uint64, customer string) []byte {
	return append(key(prefixTicket, event), customer...)
}

func customerBookingKey(customer string, booking uint64) []byte {
	k := append(append([]byte{}, prefixCuBook...), customer...)
	return u64(append(k, 0), booking)
}

func customerBookingPrefix(customer string) []byte {
	return append(append(append([]byte{}, prefixCuBook...), customer...), 0)
}

// startsKey orders events by start time; an event without one sorts first.
func startsKey(prefix []byte, starts int64, event uint64) []byte {
	return u64(u64(append([]byte{}, prefix...), uint64(starts)), event)
}

func feedKey(index uint64, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(key(prefixFeed, index), seq)
}

func memberKey(id string) []byte { return append(append([]byte{}, prefixMember...), id...) }

// prefixEnd returns the first key after every key that starts with prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte{}, prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// Identifiers shown to users are a kind prefix and the creating Raft index.
const (
	kindEvent   = "ev_"
	kindHold    = "hd_"
	kindBooking = "bk_"
	kindProduct = "pr_"
	kindEntry   = "wl_"
	kindQuota   = "qt_"
)

// Objects (events, holds, bookings) are numbered by the command that
// created them: its entry's Raft index and its position in the entry, as
// index<<posBits | pos, so numbers sort in log order. Identifiers show the
// Raft index, and the position when it is not 0: "bk_1234" is the booking
// made by the entry at index 1234 (or by its first command), "bk_1234-7" by
// the eighth command of that entry.
const posBits = 10

func objectNumber(index uint64, pos int) uint64 { return index<<posBits | uint64(pos) }

// formatID renders the identifier of the object numbered n.
func formatID(kind string, n uint64) string {
	id := kind + strconv.FormatUint(n>>posBits, 10)
	if pos := n & (1<<posBits - 1); pos != 0 {
		id += "-" + strconv.FormatUint(pos, 10)
	}
	return id
}

// parseID returns the number behind an identifier, or false when it is not
// an identifier of that kind in its one canonical form.
func parseID(kind, id string) (uint64, bool) {
	rest, ok := strings.CutPrefix(id, kind)
	if !ok {
		return 0, false
	}
	index, pos, hasPos := strings.Cut(rest, "-")
	i, ok := canonicalUint(index)
	if !ok || i == 0 || i >= 1<<(64-posBits) {
		return 0, false
	}
	p := uint64(0)
	if hasPos {
		if p, ok = canonicalUint(pos); !ok || p == 0 || p >= 1<<posBits {
			return 0, false
		}
	}
	return i<<posBits | p, true
}

// canonicalUint parses a decimal number written without sign or leading zeros.
func canonicalUint(s string) (uint64, bool) {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// Seat states, as stored in ss/<event><chunk> (seats.go).
const (
	seatFree   byte = 0
	seatHeld   byte = 1
	seatBooked byte = 2
	// A seat of the seat map that is not for sale.
	seatBlocked byte = 3
)

func decodeU64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("fsm: corrupt integer value %x", b)
	}
	return binary.BigEndian.Uint64(b), nil
}

func decodeExpiryKey(k []byte) (expiresAt int64) {
	return int64(binary.BigEndian.Uint64(k[len(prefixExpiry):]))
}

func decodeExpiryHold(k []byte) uint64 {
	return binary.BigEndian.Uint64(k[len(prefixExpiry)+8:])
}
