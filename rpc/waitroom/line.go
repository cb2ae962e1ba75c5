package waitroom

// line is the admission order of the tickets that wait. Tickets join at the
// back and leave from the front when admitted, or from anywhere when they
// time out; a ticket's position (1 = next) is counted in O(log n) by a
// Fenwick tree over the slots, so a queue of 100,000 answers a status poll
// without walking it.
type line struct {
	slots []*entry // in admission order; nil once the entry left
	tree  []int    // Fenwick tree over slots, 1-based: tree[i] counts the live slots in (i-lowbit(i), i]
	head  int      // the slots before head are all nil
	n     int      // live entries
}

// compactAt is the fewest slots worth compacting.
const compactAt = 1024

// len is how many entries wait in the line.
func (l *line) len() int { return l.n }

// push puts e at the back.
func (l *line) push(e *entry) {
	if len(l.tree) == 0 {
		l.tree = append(l.tree, 0)
	}
	e.slot = len(l.slots)
	l.slots = append(l.slots, e)
	i := len(l.slots)
	l.tree = append(l.tree, 1+l.prefix(i-1)-l.prefix(i-i&-i))
	l.n++
}

// front returns the next entry, or nil when the line is empty.
func (l *line) front() *entry {
	if l.n == 0 {
		return nil
	}
	return l.slots[l.head]
}

// position returns e's place in the line, 1 being next.
func (l *line) position(e *entry) int { return l.prefix(e.slot + 1) }

// remove takes e out of the line.
func (l *line) remove(e *entry) {
	l.slots[e.slot] = nil
	for i := e.slot + 1; i < len(l.tree); i += i & -i {
		l.tree[i]--
	}
	l.n--
	for l.head < len(l.slots) && l.slots[l.head] == nil {
		l.head++
	}
	if len(l.slots) >= compactAt && len(l.slots) > 2*l.n {
		l.compact()
	}
}

// compact drops the empty slots. It runs once at least half the slots are
// empty, so its cost is paid by the removals since the last one.
func (l *line) compact() {
	live := make([]*entry, 0, 2*l.n)
	for _, e := range l.slots[l.head:] {
		if e != nil {
			e.slot = len(live)
			live = append(live, e)
		}
	}
	l.slots, l.head = live, 0
	l.tree = make([]int, len(live)+1)
	for i := 1; i <= len(live); i++ {
		l.tree[i]++
		if j := i + i&-i; j <= len(live) {
			l.tree[j] += l.tree[i]
		}
	}
}

// prefix counts the live entries in slots[:k].
func (l *line) prefix(k int) int {
	s := 0
	for ; k > 0; k -= k & -k {
		s += l.tree[k]
	}
	return s
}
