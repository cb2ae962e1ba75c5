package fsm

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
)

// Admission. A waiting room (bookd edge) admits a shopper with a token that
// states an AdmissionGrant: one ticket may place so many holds of so many
// tickets on one event, for one customer, until a time. The edge checks the
// token's signature; the state machine checks what it states against the
// hold and spends it in the hold's own commit (a/<ticket>), so the same
// token is never spent twice, whichever edges or nodes it is sent through.

// AdmissionGrant is what an admission token states.
type AdmissionGrant = fsmv1.AdmissionGrant

// MaxAdmissionTokenLen bounds an admission token.
const MaxAdmissionTokenLen = 1024

// AdmissionPayload renders the part of an admission token that states g:
// the token is the payload, a dot, and the issuer's signature of the
// payload.
func AdmissionPayload(g *AdmissionGrant) string {
	return base64.RawURLEncoding.EncodeToString(marshal(g))
}

// DecodeAdmissionToken reads the grant an admission token states. It does
// not check the signature (the issuing edges' secret is theirs); it checks
// that the grant is complete.
func DecodeAdmissionToken(token string) (*AdmissionGrant, error) {
	if len(token) > MaxAdmissionTokenLen {
		return nil, fmt.Errorf("longer than %d bytes", MaxAdmissionTokenLen)
	}
	payload, _, ok := strings.Cut(token, ".")
	if !ok {
		return nil, errors.New("not PAYLOAD.SIGNATURE")
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, errors.New("payload is not base64url")
	}
	g := new(AdmissionGrant)
	if err := proto.Unmarshal(raw, g); err != nil {
		return nil, errors.New("payload is not an admission grant")
	}
	switch {
	case g.GetEventId() == "" || g.GetTicket() == "" || g.GetCustomerId() == "":
		return nil, errors.New("grant lacks its event, ticket or customer")
	case strings.ContainsRune(g.GetTicket(), 0) || len(g.GetTicket()) > MaxIDLen:
		return nil, errors.New("grant's ticket is malformed")
	case g.GetMaxHolds() < 1 || g.GetMaxTickets() < 0 || g.GetExpiresUnixMs() <= 0:
		return nil, errors.New("grant's limits are out of range")
	}
	return g, nil
}

// validateAdmission is the stateless check of a hold's admission token.
func validateAdmission(r *bookdv1.HoldRequest) *Error {
	if r.GetAdmissionToken() == "" {
		return nil
	}
	if _, err := DecodeAdmissionToken(r.GetAdmissionToken()); err != nil {
		return invalid("admission_token: %v", err)
	}
	return nil
}

// checkAdmission checks a hold against its admission token, if any, and
// returns what spends it once the hold is placed. A token is for one
// event: the order's tickets of that event are counted against it.
func (t *txn) checkAdmission(r *bookdv1.HoldRequest, o orderRequest) (spend func(), _ *Error) {
	if r.GetAdmissionToken() == "" {
		return func() {}, nil
	}
	g, err := DecodeAdmissionToken(r.GetAdmissionToken())
	if err != nil {
		return nil, invalid("admission_token: %v", err)
	}
	expires := g.GetExpiresUnixMs() * int64(time.Millisecond)
	var quantity int64
	forEvent := false
	for i := range o.len() {
		if it := o.claimRequest(i); it.eventID == g.GetEventId() {
			forEvent = true
			quantity += it.quantity + int64(len(it.seats))
		}
	}
	switch {
	case !forEvent:
		return nil, errorf(CodePermissionDenied, ReasonAdmissionInvalid, "admission_token: issued for another event")
	case g.GetCustomerId() != r.GetCustomerId():
		return nil, errorf(CodePermissionDenied, ReasonAdmissionInvalid, "admission_token: issued to another customer")
	case t.now >= expires:
		return nil, errorf(CodePermissionDenied, ReasonAdmissionExpired, "admission_token: expired at %s; join the waiting room again", formatTime(expires))
	}
	k := admissionKey(g.GetTicket())
	use := new(fsmv1.AdmissionUse)
	known := t.getProto(k, use)
	switch {
	case use.GetHolds() >= g.GetMaxHolds():
		return nil, errorf(CodePermissionDenied, ReasonAdmissionSpent,
			"admission_token: already spent on %d hold(s), its limit", use.GetHolds())
	case g.GetMaxTickets() > 0 && use.GetTickets()+quantity > g.GetMaxTickets():
		return nil, errorf(CodePermissionDenied, ReasonAdmissionSpent,
			"admission_token: good for %d ticket(s) in all, %d used, %d asked", g.GetMaxTickets(), use.GetTickets(), quantity)
	}
	return func() {
		if !known {
			use.ExpiresUnixMs = g.GetExpiresUnixMs()
			t.set(admissionAgeKey(expires, g.GetTicket()), nil)
		}
		use.Holds++
		use.Tickets += quantity
		t.setProto(k, use)
	}, nil
}

// admissionKey is where what a ticket has spent is kept.
func admissionKey(ticket string) []byte {
	return append(append([]byte(nil), prefixAdmission...), ticket...)
}

// admissionAgeKey indexes a spent ticket by its token's expiry, for purging.
func admissionAgeKey(expires int64, ticket string) []byte {
	return append(key(prefixAdmissionAt, uint64(expires)), ticket...)
}

// purgeAdmissions forgets what admission tickets whose tokens expired
// before the given time have spent: such a token admits nothing any more.
// It goes with the idempotency records' cut-off, so a hold's retry, which
// the record answers, never meets a forgotten ticket.
func (t *txn) purgeAdmissions(before int64) {
	if before <= 0 {
		return
	}
	it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: prefixAdmissionAt, UpperBound: key(prefixAdmissionAt, uint64(before))})
	must(err)
	var done [][]byte
	for ok := it.First(); ok && len(done) < maxPurgePerCommand; ok = it.Next() {
		done = append(done, append([]byte(nil), it.Key()...))
	}
	must(it.Close())
	for _, k := range done {
		t.delete(admissionKey(string(k[len(prefixAdmissionAt)+8:])))
		t.delete(k)
	}
}
