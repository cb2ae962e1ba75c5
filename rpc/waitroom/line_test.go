package waitroom

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLineMatchesASlice drives a line and a plain slice with the same random
// pushes, removals from anywhere and admissions from the front, through
// several compactions, and compares every position.
func TestLineMatchesASlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var l line
	var model []*entry
	for step := range 20_000 {
		switch op := rng.IntN(10); {
		case op < 5 || len(model) == 0:
			e := &entry{}
			l.push(e)
			model = append(model, e)
		case op < 8:
			i := rng.IntN(len(model))
			l.remove(model[i])
			model = slices.Delete(model, i, i+1)
		default:
			if l.front() != model[0] {
				t.Fatalf("step %d: front is not the first", step)
			}
			l.remove(model[0])
			model = model[1:]
		}
		if l.len() != len(model) {
			t.Fatalf("step %d: len %d, want %d", step, l.len(), len(model))
		}
		if step%97 == 0 || len(model) < 5 {
			for i, e := range model {
				if p := l.position(e); p != i+1 {
					t.Fatalf("step %d: position %d, want %d", step, p, i+1)
				}
			}
		}
	}
	for len(model) > 0 {
		l.remove(model[0])
		model = model[1:]
	}
	if l.front() != nil || l.len() != 0 {
		t.Fatal("an emptied line is not empty")
	}
}
