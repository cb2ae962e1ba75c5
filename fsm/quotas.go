package fsm

import (
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
)

// Quotas bound the tickets of several events together (one bus serving two
// tours). A quota's taken count moves in the same commit as the claims on
// its events, so no quota is ever oversold.

const (
	// MaxQuotaCapacity bounds a quota's tickets.
	MaxQuotaCapacity = 1_000_000_000
	// MaxQuotasPerEvent bounds the quotas one event counts against.
	MaxQuotasPerEvent = 4
)

func (t *txn) createQuota(r *bookdv1.CreateQuotaRequest) (proto.Message, *Error) {
	if err := ValidateCreateQuota(r); err != nil {
		return nil, err
	}
	q := &bookdv1.Quota{
		Id:        formatID(kindQuota, t.index),
		Name:      r.GetName(),
		Capacity:  r.GetCapacity(),
		CreatedAt: t.timestamp(),
	}
	t.setProto(key(prefixQuota, t.index), q)
	return &bookdv1.CreateQuotaResponse{Quota: q}, nil
}

// ValidateCreateQuota checks a CreateQuotaRequest.
func ValidateCreateQuota(r *bookdv1.CreateQuotaRequest) *Error {
	if err := checkText("name", r.GetName(), MaxNameLen, true); err != nil {
		return err
	}
	if c := r.GetCapacity(); c < 1 || c > MaxQuotaCapacity {
		return invalid("capacity: must be between 1 and %d, got %d", MaxQuotaCapacity, c)
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateQuotaID checks a quota id.
func ValidateQuotaID(field, id string) *Error { return checkRef(field, kindQuota, id) }

// checkQuotaIDs checks an event's quota_ids: well formed, at most
// MaxQuotasPerEvent, none twice.
func checkQuotaIDs(ids []string) *Error {
	if len(ids) > MaxQuotasPerEvent {
		return invalid("quota_ids: at most %d quotas per event, got %d", MaxQuotasPerEvent, len(ids))
	}
	for i, id := range ids {
		if err := checkRef("quota_ids", kindQuota, id); err != nil {
			return invalid("quota_ids[%d]: %q is not a quota id (like qt_12)", i, clip(id))
		}
		for j := range i {
			if ids[j] == id {
				return invalid("quota_ids[%d]: %s repeats quota_ids[%d]", i, id, j)
			}
		}
	}
	return nil
}

// quota loads a quota named by an id already checked.
func (t *txn) quota(id string) (uint64, *bookdv1.Quota, bool) {
	n, _ := parseID(kindQuota, id)
	q := new(bookdv1.Quota)
	return n, q, t.getProto(key(prefixQuota, n), q)
}

// quotaLeft is the tickets an event's quotas leave (-1: no quota), and the
// quota that leaves fewest.
func (t *txn) quotaLeft(ev *bookdv1.Event) (left int64, tightest string) {
	left = -1
	for _, id := range ev.GetQuotaIds() {
		_, q, _ := t.quota(id)
		if l := q.GetCapacity() - q.GetTaken(); left < 0 || l < left {
			left, tightest = l, id
		}
	}
	return left, tightest
}

// takeQuotas moves the taken count of each of an event's quotas by delta
// tickets. A quota that would go below zero or past its capacity means the
// stored state is corrupt: the node stops.
func (t *txn) takeQuotas(ev *bookdv1.Event, delta int64) {
	for _, id := range ev.GetQuotaIds() {
		n, q, ok := t.quota(id)
		if !ok {
			panic("fsm: event " + ev.GetId() + " counts against missing quota " + id)
		}
		q.Taken += delta
		if q.Taken < 0 || q.Taken > q.GetCapacity() {
			panic("fsm: quota " + id + " would have taken " + itoa(q.Taken) + " of " + itoa(q.GetCapacity()))
		}
		t.setProto(key(prefixQuota, n), q)
	}
}

// Quota returns a quota.
func (f *FSM) Quota(id string) (*bookdv1.Quota, error) {
	q := new(bookdv1.Quota)
	err := f.view(func(r pebble.Reader) error {
		return getOne(r, prefixQuota, kindQuota, "quota", id, q)
	})
	return q, err
}
