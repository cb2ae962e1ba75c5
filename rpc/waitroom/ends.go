package waitroom

import "container/heap"

// ends orders the admitted and done entries by when their admission runs
// out, soonest first, so the room forgets them in O(log n) each without
// walking them (AdmitFor may change, so admission order is not enough).
type ends []*entry

func (h ends) Len() int           { return len(h) }
func (h ends) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h ends) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].end, h[j].end = i, j
}

// Push and Pop are for container/heap; use add and drop.
func (h *ends) Push(x any) {
	e := x.(*entry)
	e.end = len(*h)
	*h = append(*h, e)
}

func (h *ends) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// add puts e in, by e.until.
func (h *ends) add(e *entry) { heap.Push(h, e) }

// drop takes e out.
func (h *ends) drop(e *entry) { heap.Remove(h, e.end) }

// first returns the entry whose admission runs out soonest, or nil.
func (h ends) first() *entry {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}
