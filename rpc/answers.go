package rpc

import (
	"sync"

	"google.golang.org/protobuf/proto"
)

// Answers to hot reads. When a deal goes viral every shopper's page asks
// for the same event's availability, many times between two changes of it.
// A node keeps its latest answer per event with the applied index it was
// read at: while the state machine's applied index has not moved, the
// answer is exact, and every reader shares it — read from the store once,
// encoded once (answerCodec copies the encoding into each response).
//
// The index checked is the state machine's own, so an answer is served
// only when the state it was read from is the node's current one: a read
// that passed a read barrier at index i is answered with state at i or
// later, as it would be from the store.

// maxAnswers bounds the events a cache holds; past it, it starts over.
const maxAnswers = 4096

// cachedMessage is a message type answers are kept in: a pointer, so
// that the codec can tell a cached message from another.
type cachedMessage interface {
	proto.Message
	comparable
}

// answerCache holds one kind of answer (of type M) per event.
type answerCache[M cachedMessage] struct {
	mu      sync.RWMutex
	byEvent map[string]*answer[M]
	// wire maps each cached message to its encoding, for answerCodec.
	wire map[M][]byte
}

type answer[M cachedMessage] struct {
	index uint64
	msg   M
}

func newAnswerCache[M cachedMessage]() *answerCache[M] {
	return &answerCache[M]{byEvent: map[string]*answer[M]{}, wire: map[M][]byte{}}
}

// get returns the answer for event at applied index, reading it with load
// (whose state is at least as new as index) when none is cached there. The
// message returned must not be changed.
func (c *answerCache[M]) get(event string, index uint64, load func() (M, error)) (M, error) {
	c.mu.RLock()
	a := c.byEvent[event]
	c.mu.RUnlock()
	if a != nil && a.index == index {
		return a.msg, nil
	}
	msg, err := load()
	if err != nil {
		return msg, err
	}
	c.put(event, index, msg)
	return msg, nil
}

// put caches msg as event's answer at index, unless a newer one is there.
// The state load read may be newer than index (the state machine applied
// more meanwhile): an answer cached under index i reflects the state at i
// or later, which is what a read at i may be answered with.
func (c *answerCache[M]) put(event string, index uint64, msg M) {
	wire, err := proto.Marshal(msg)
	if err != nil {
		return // the codec will report it when it encodes msg
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.byEvent[event]
	if old != nil && old.index >= index {
		return
	}
	if old != nil {
		delete(c.wire, old.msg)
	}
	if len(c.byEvent) >= maxAnswers {
		clear(c.byEvent)
		clear(c.wire)
	}
	c.byEvent[event] = &answer[M]{index: index, msg: msg}
	c.wire[msg] = wire
}

// encoding returns msg's encoding if msg is a cached answer.
func (c *answerCache[M]) encoding(msg M) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	b, ok := c.wire[msg]
	return b, ok
}
