package raftnode

import (
	"sync"
	"testing"
	"time"
)

// stampsFrom calls c.stamp perGoroutine times on each of goroutines
// goroutines at once and returns each goroutine's stamps in call order.
func stampsFrom(c *stampClock, goroutines, perGoroutine int) [][]int64 {
	out := make([][]int64, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s := make([]int64, perGoroutine)
			for i := range s {
				s[i] = c.stamp()
			}
			out[g] = s
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func TestStampClockStrictlyIncreasing(t *testing.T) {
	tests := []struct {
		name string
		// last is the clock's last stamp before the calls, relative to now.
		// Far ahead of the wall clock plays a wall clock that stepped back
		// (or repeats the same reading): stamps must still increase.
		last time.Duration
	}{
		{"wall clock ahead", 0},
		{"wall clock stepped back", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const goroutines, perGoroutine = 8, 2000
			c := &stampClock{}
			floor := int64(0)
			if tt.last != 0 {
				floor = time.Now().Add(tt.last).UnixNano()
				c.last = floor
			}
			stamps := stampsFrom(c, goroutines, perGoroutine)
			seen := make(map[int64]bool, goroutines*perGoroutine)
			for g, s := range stamps {
				for i, v := range s {
					if v <= floor {
						t.Fatalf("goroutine %d stamp %d = %d, not above the previous last stamp %d", g, i, v, floor)
					}
					if i > 0 && v <= s[i-1] {
						t.Fatalf("goroutine %d: stamp %d = %d after %d: not increasing", g, i, v, s[i-1])
					}
					if seen[v] {
						t.Fatalf("stamp %d handed out twice", v)
					}
					seen[v] = true
				}
			}
			if tt.last != 0 {
				// The wall clock stays behind last for the whole test, so
				// the stamps are exactly the next integers.
				if want := floor + goroutines*perGoroutine; c.last != want {
					t.Errorf("after %d stamps from %d, last = %d, want %d", goroutines*perGoroutine, floor, c.last, want)
				}
			}
		})
	}
}

func TestStampClockFollowsWallClockWithOffset(t *testing.T) {
	for _, offset := range []time.Duration{0, time.Hour, -time.Hour} {
		c := &stampClock{offset: offset}
		before := time.Now().Add(offset).UnixNano()
		got := c.stamp()
		after := time.Now().Add(offset).UnixNano()
		if got < before || got > after {
			t.Errorf("offset %s: stamp %d outside [%d, %d]", offset, got, before, after)
		}
	}
}

func TestNowAddsClockOffset(t *testing.T) {
	for _, offset := range []time.Duration{0, 90 * time.Minute, -90 * time.Minute} {
		n := &Node{clock: stampClock{offset: offset}}
		before := time.Now().Add(offset).UnixNano()
		got := n.Now()
		after := time.Now().Add(offset).UnixNano()
		if got < before || got > after {
			t.Errorf("offset %s: Now() = %d outside [%d, %d]", offset, got, before, after)
		}
	}
}
