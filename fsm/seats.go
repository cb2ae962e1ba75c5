package fsm

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// How seats are stored. An event's seats are numbered in the order of its
// seat list, from 0, and kept in two families:
//
//	s/<event><label>    the seat's number (4 bytes), written when the event
//	                    is created and never changed
//	ss/<event><chunk>   the states of the seats numbered chunk·seatChunk up
//	                    to the next chunk, a byte each (seatFree, ...)
//
// A claim of adjacent seats changes one chunk, seldom two, and a batch that
// books many seats in the hot rows of a venue writes each chunk it changed
// once: commitSorted keeps the last write of a key. With a key per seat,
// every seat booked was a search of the memtable; those searches were the
// largest cost of applying a seat booking.
const seatChunk = 64

func seatKey(event uint64, label string) []byte {
	return append(key(prefixSeat, event), label...)
}

func seatChunkKey(event uint64, chunk uint32) []byte {
	return binary.BigEndian.AppendUint32(key(prefixSeatState, event), chunk)
}

func encodeSeatNo(no uint32) []byte { return binary.BigEndian.AppendUint32(nil, no) }

func decodeSeatNo(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("fsm: corrupt seat number %x", b)
	}
	return binary.BigEndian.Uint32(b), nil
}

// checkStates verifies that every byte of a stored chunk is a seat state.
func checkStates(chunk []byte) error {
	if len(chunk) == 0 || len(chunk) > seatChunk || bytes.ContainsFunc(chunk, func(r rune) bool { return r > rune(seatBlocked) }) {
		return fmt.Errorf("fsm: corrupt seat states %x", chunk)
	}
	return nil
}

// newSeatChunks are the chunks of a new event's seats: free, or blocked
// when blocked names them.
func newSeatChunks(labels []string, blocked map[string]bool) [][]byte {
	var chunks [][]byte
	for lo := 0; lo < len(labels); lo += seatChunk {
		chunk := make([]byte, min(seatChunk, len(labels)-lo))
		for i := range chunk {
			if blocked[labels[lo+i]] {
				chunk[i] = seatBlocked
			}
		}
		chunks = append(chunks, chunk)
	}
	return chunks
}

// storedSeatNo reads a seat's number; found is false when the event has no
// such seat.
func storedSeatNo(r pebble.Reader, event uint64, label string) (no uint32, found bool, err error) {
	v, found, err := getValue(r, seatKey(event, label))
	if err != nil || !found {
		return 0, false, err
	}
	no, err = decodeSeatNo(v)
	return no, err == nil, err
}

// storedChunk reads the chunk that holds seat no.
func storedChunk(r pebble.Reader, event uint64, no uint32) ([]byte, error) {
	k := seatChunkKey(event, no/seatChunk)
	chunk, found, err := getValue(r, k)
	if err != nil {
		return nil, err
	}
	if !found || int(no%seatChunk) >= len(chunk) {
		return nil, fmt.Errorf("fsm: event %d has no state for seat number %d", event, no)
	}
	return chunk, checkStates(chunk)
}

// storedSeat reads a seat's state from r; found is false when the event has
// no such seat.
func storedSeat(r pebble.Reader, event uint64, label string) (state byte, found bool, err error) {
	no, found, err := storedSeatNo(r, event, label)
	if err != nil || !found {
		return 0, false, err
	}
	chunk, err := storedChunk(r, event, no)
	if err != nil {
		return 0, false, err
	}
	return chunk[no%seatChunk], true, nil
}

// storedSeats reads every seat of an event from r: their numbers by label,
// and their states by number.
func storedSeats(r pebble.Reader, event uint64) (nos map[string]uint32, states []byte, err error) {
	nos = make(map[string]uint32)
	var most uint32 // the highest seat number
	prefix := key(prefixSeat, event)
	_, err = scanRange(r, prefix, prefixEnd(prefix), -1, func(k, v []byte) error {
		no, err := decodeSeatNo(v)
		nos[string(k[len(prefix):])] = no
		most = max(most, no)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	prefix = key(prefixSeatState, event)
	_, err = scanRange(r, prefix, prefixEnd(prefix), -1, func(k, v []byte) error {
		if len(k) != len(prefix)+4 || int(binary.BigEndian.Uint32(k[len(prefix):])) != len(states)/seatChunk || len(states)%seatChunk != 0 {
			return fmt.Errorf("fsm: seat states of event %d out of order at %x", event, k)
		}
		if err := checkStates(v); err != nil {
			return err
		}
		states = append(states, v...)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(nos) > 0 && int(most) >= len(states) {
		return nil, nil, fmt.Errorf("fsm: event %d has seat number %d, past the %d states stored", event, most, len(states))
	}
	return nos, states, nil
}

// seat reads a seat's state: from memory when the event's seats are there
// (seatindex.go), else from the batch. found is false when the event has no
// such seat.
func (t *txn) seat(event uint64, label string) (state byte, found bool) {
	if state, found, indexed := t.f.seats.get(event, label); indexed {
		return state, found
	}
	state, found, err := storedSeat(t.b, event, label)
	must(err)
	// Loading may push out an event whose changes are not in the batch yet.
	t.f.seats.missed(t.b, event, t.eventCounters(event).GetSeats(), t.flushSeats)
	return state, found
}

// moveSeat changes a seat from state from to state to: in memory when its
// event is there, with the chunk written when the batch ends (or before
// another event's seats come into memory, which may push this one out);
// else in the batch at once. A seat missing or not in state from means the
// stored state is corrupt: the node stops.
func (t *txn) moveSeat(event uint64, label string, from, to byte) {
	if chunk, ok, indexed := t.f.seats.move(event, label, from, to); indexed {
		if !ok {
			panic(fmt.Sprintf("fsm: seat %q of event %d is not in state %d", label, event, from))
		}
		t.dirtySeats = append(t.dirtySeats, dirtyChunk{event, chunk})
		return
	}
	no, found, err := storedSeatNo(t.b, event, label)
	must(err)
	if !found {
		panic(fmt.Sprintf("fsm: event %d has no seat %q", event, label))
	}
	chunk, err := storedChunk(t.b, event, no)
	must(err)
	if chunk[no%seatChunk] != from {
		panic(fmt.Sprintf("fsm: seat %q of event %d is in state %d, expected %d", label, event, chunk[no%seatChunk], from))
	}
	chunk[no%seatChunk] = to
	t.set(seatChunkKey(event, no/seatChunk), chunk)
}

// dirtyChunk names a chunk of seat states changed in memory and not yet
// written to the batch.
type dirtyChunk struct {
	event uint64
	chunk uint32
}

// flushSeats writes the chunks changed in memory to the batch, each once.
// Their events are in memory: only loading another event's seats pushes one
// out, and flushSeats runs before that.
func (t *txn) flushSeats() {
	slices.SortFunc(t.dirtySeats, func(a, b dirtyChunk) int {
		return cmp.Or(cmp.Compare(a.event, b.event), cmp.Compare(a.chunk, b.chunk))
	})
	for i, d := range t.dirtySeats {
		if i > 0 && d == t.dirtySeats[i-1] {
			continue
		}
		states, ok := t.f.seats.chunk(d.event, d.chunk)
		if !ok {
			panic(fmt.Sprintf("fsm: seats of event %d left memory with changes not stored", d.event))
		}
		t.set(seatChunkKey(d.event, d.chunk), states)
	}
	t.dirtySeats = t.dirtySeats[:0]
}
