package fsm

import "sync"

// queueFloors remember, per queue, where its live entries begin, so that a
// scan seeks past the deleted ones instead of stepping over them: every
// message received, acked or dead-lettered leaves deletion markers at the
// front of its queue's key ranges until a compaction drops them, and
// without a floor each Receive, due check and oldest-message read walked
// all of them (most of a drained queue's CPU). A floor is a lower bound,
// never an answer: a scan from it finds what a scan from the start would,
// so the state machine stays a function of the log.
//
//   - due: no live due entry (qv/) is earlier than it. Entries are only
//     ever written due at or after the command's time, and a Receive
//     scans from the floor to now, so after it the floor may move to the
//     earliest due entry it found, or to now when it found none.
//   - msg: no live message (qm/) has a lower number, for readers looking
//     for a queue's oldest message. Messages get rising numbers, except
//     that Redrive brings old ones back: once its batch is committed the
//     floor is dropped and gen moves, and a reader keeps a floor it
//     measured only if gen, read before its snapshot, has not moved. The
//     state machine itself never uses it.
type queueFloors struct {
	mu  sync.Mutex
	due map[string]int64
	msg map[string]uint64
	gen map[string]uint64
}

func (q *queueFloors) reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.due, q.msg, q.gen = nil, nil, nil
}

func (q *queueFloors) dueFloor(name string) int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.due[name]
}

// raiseDue records that no live due entry of the queue is earlier than at.
func (q *queueFloors) raiseDue(name string, at int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.due == nil {
		q.due = map[string]int64{}
	}
	q.due[name] = max(q.due[name], at)
}

// msgFloor is a queue's message floor and its generation, read before a
// snapshot; raiseMsg must be given it back.
type msgFloor struct{ floor, gen uint64 }

// msgFloors returns every queue's message floor, to be read before a
// snapshot is taken.
func (q *queueFloors) msgFloors() map[string]msgFloor {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string]msgFloor, len(q.gen)+len(q.msg))
	for name, g := range q.gen {
		out[name] = msgFloor{q.msg[name], g}
	}
	for name, f := range q.msg {
		out[name] = msgFloor{f, q.gen[name]}
	}
	return out
}

// raiseMsg records that no live message of the queue has a number below
// n, as measured at generation gen.
func (q *queueFloors) raiseMsg(name string, n, gen uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.gen[name] != gen {
		return
	}
	if q.msg == nil {
		q.msg = map[string]uint64{}
	}
	q.msg[name] = max(q.msg[name], n)
}

// drop forgets a queue's floors once a batch that redrove its dead letters
// or deleted it is committed.
func (q *queueFloors) drop(name string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.due, name)
	delete(q.msg, name)
	if q.gen == nil {
		q.gen = map[string]uint64{}
	}
	q.gen[name]++
}
