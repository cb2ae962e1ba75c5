package waitroom

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a Rooms on a fake clock whose sold-out answer the test sets.
type fixture struct {
	*Rooms
	clk  *clock
	mu   sync.Mutex
	sold bool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	signer, err := NewSigner([]byte("a secret of at least 16 bytes"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{clk: &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}}
	f.Rooms = New(signer, func(context.Context, string) (bool, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.sold, nil
	})
	f.Rooms.now = f.clk.now
	return f
}

func (f *fixture) setSoldOut(v bool) { f.mu.Lock(); f.sold = v; f.mu.Unlock() }

func (f *fixture) join(t *testing.T, ev string) Status {
	t.Helper()
	st, err := f.Join(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (f *fixture) status(t *testing.T, ev, ticket string) Status {
	t.Helper()
	st, err := f.Status(context.Background(), ev, ticket)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestPreQueueIsShuffledAtOnSaleAndLaterArrivalsQueueFIFO(t *testing.T) {
	f := newFixture(t)
	onSale := f.clk.now().Add(time.Minute)
	if err := f.Configure(Config{EventID: "ev1", OnSale: onSale, Rate: 1}); err != nil {
		t.Fatal(err)
	}
	var early []string
	for range 30 {
		st := f.join(t, "ev1")
		if st.State != StatePreQueue || st.Position != 0 {
			t.Fatalf("before on-sale: %+v, want pre_queue with no position", st)
		}
		early = append(early, st.Ticket)
		f.clk.add(time.Second)
	}
	f.clk.add(30 * time.Second) // now exactly on sale
	late := []string{f.join(t, "ev1").Ticket, f.join(t, "ev1").Ticket}

	// At on-sale one admission is ready: one early arrival is in at once.
	// Everyone else has a distinct place: the early ones in a drawn order
	// ahead of the late ones, who keep theirs.
	pos := map[string]int{}
	var in []string
	for _, tk := range append(slices.Clone(early), late...) {
		switch st := f.status(t, "ev1", tk); st.State {
		case StateAdmitted:
			in = append(in, tk)
		case StateWaiting:
			pos[tk] = st.Position
		default:
			t.Fatalf("ticket %s at on-sale: %+v", tk, st)
		}
	}
	if len(in) != 1 || !slices.Contains(early, in[0]) {
		t.Fatalf("admitted at on-sale: %v, want one early arrival", in)
	}
	drawn := slices.Clone(early)
	slices.SortFunc(drawn, func(a, b string) int { return pos[a] - pos[b] }) // the admitted one sorts first (0)
	for i, tk := range drawn[1:] {
		if pos[tk] != i+1 {
			t.Fatalf("early arrivals hold positions %v, want 1..29", pos)
		}
	}
	if slices.Equal(drawn, early) {
		t.Fatal("the pre-queue kept its arrival order: it was not shuffled")
	}
	if pos[late[0]] != 30 || pos[late[1]] != 31 {
		t.Fatalf("late arrivals at %d and %d, want 30 and 31 in arrival order", pos[late[0]], pos[late[1]])
	}

	// One a second: 3 s later (with no one asking in between) three more are in.
	f.clk.add(3 * time.Second)
	for i, tk := range drawn[1:4] {
		if st := f.status(t, "ev1", tk); st.State != StateAdmitted || st.Token == "" {
			t.Fatalf("drawn #%d after 3 s: %+v, want admitted with a token", i+2, st)
		}
	}
	if st := f.status(t, "ev1", drawn[4]); st.State != StateWaiting || st.Position != 1 || st.EstimatedWaitMs != 1000 {
		t.Fatalf("drawn #5 after 3 s: %+v, want next in line, about 1 s", st)
	}
}

func TestCapOnActiveShoppersAndTokens(t *testing.T) {
	f := newFixture(t)
	if err := f.Configure(Config{EventID: "ev1", Rate: 100, MaxActive: 2, AdmitFor: time.Minute}); err != nil {
		t.Fatal(err)
	}
	var sts []Status
	for range 4 {
		sts = append(sts, f.join(t, "ev1"))
		f.clk.add(time.Second)
	}
	got := func() []State {
		var s []State
		for _, st := range sts {
			s = append(s, f.status(t, "ev1", st.Ticket).State)
		}
		return s
	}
	if s := got(); !slices.Equal(s, []State{StateAdmitted, StateAdmitted, StateWaiting, StateWaiting}) {
		t.Fatalf("with a cap of 2: %v", s)
	}
	first := f.status(t, "ev1", sts[0].Ticket)
	signer := f.Signer()
	a, err := signer.Verify(first.Token, "ev1", f.clk.now())
	if err != nil || a.Ticket != first.Ticket {
		t.Fatalf("the room's token does not verify: %+v, %v", a, err)
	}
	if _, err := signer.Verify(first.Token, "ev2", f.clk.now()); !errors.Is(err, ErrWrongEvent) {
		t.Fatalf("token used for another event: %v", err)
	}
	other, _ := NewSigner([]byte("another secret, also 16+ bytes"))
	if _, err := other.Verify(first.Token, "ev1", f.clk.now()); !errors.Is(err, ErrBadToken) {
		t.Fatalf("token checked with another secret: %v", err)
	}
	if _, err := signer.Verify(first.Token[:len(first.Token)-2]+"xx", "ev1", f.clk.now()); !errors.Is(err, ErrBadToken) {
		t.Fatalf("tampered token: %v", err)
	}
	if err := f.Check("ev1", first.Token); err != nil {
		t.Fatalf("Check with a valid token: %v", err)
	}
	if err := f.Check("ev1", ""); !errors.Is(err, ErrAdmissionRequired) {
		t.Fatalf("Check without a token: %v", err)
	}
	if err := f.Check("ungated", ""); err != nil {
		t.Fatalf("Check on an event with no room: %v", err)
	}

	// The first shopper confirms: the third gets in.
	f.Finish("ev1", first.Token)
	if s := got(); !slices.Equal(s, []State{StateAdmitted, StateAdmitted, StateAdmitted, StateWaiting}) {
		t.Fatalf("after one finished: %v", s)
	}
	// Admissions run out after a minute: their tokens expire, the fourth gets in.
	f.clk.add(time.Minute)
	if _, err := signer.Verify(first.Token, "ev1", f.clk.now()); !errors.Is(err, ErrExpired) {
		t.Fatalf("token after its admission ran out: %v", err)
	}
	if st := f.status(t, "ev1", sts[3].Ticket); st.State != StateAdmitted {
		t.Fatalf("fourth after the others' admissions ran out: %+v", st)
	}
	if _, err := f.Status(context.Background(), "ev1", sts[0].Ticket); !errors.Is(err, ErrUnknownTicket) {
		t.Fatalf("a ticket whose admission ran out: %v, want ErrUnknownTicket", err)
	}
}

func TestSoldOutClosesTheQueueUntilStockComesBack(t *testing.T) {
	f := newFixture(t)
	if err := f.Configure(Config{EventID: "ev1", Rate: 1}); err != nil {
		t.Fatal(err)
	}
	a := f.join(t, "ev1")
	b := f.join(t, "ev1")
	if a.State != StateAdmitted || b.State != StateWaiting {
		t.Fatalf("first two: %s, %s", a.State, b.State)
	}
	f.setSoldOut(true)
	f.clk.add(10 * time.Second)
	if st := f.status(t, "ev1", b.Ticket); st.State != StateSoldOut {
		t.Fatalf("waiting while sold out: %+v, want sold_out", st)
	}
	if st := f.join(t, "ev1"); st.State != StateSoldOut {
		t.Fatalf("arriving while sold out: %+v, want sold_out", st)
	}
	f.setSoldOut(false) // a hold expired
	f.clk.add(time.Second)
	if st := f.status(t, "ev1", b.Ticket); st.State != StateAdmitted {
		t.Fatalf("after stock came back: %+v, want admitted", st)
	}
}

func TestConfigAndSpecErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		spec, want string
	}{
		{"ev1", "is not EVENT,RATE"},
		{"ev1,fast", "rate:"},
		{"ev1,0", "rate: 0 is not between"},
		{"ev1,5,-1", "max_active: -1 is negative"},
		{"ev1,5,x", "max_active:"},
		{"ev1,5,10,tomorrow", "on_sale:"},
		{",5", "event_id: required"},
	} {
		_, err := ParseSpec(tc.spec)
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("ParseSpec(%q) = %v, want an error with %q", tc.spec, err, tc.want)
		}
	}
	cfg, err := ParseSpec("ev1,5,10,2026-11-23T10:00:00Z")
	if err != nil || cfg.Rate != 5 || cfg.MaxActive != 10 || cfg.OnSale.Hour() != 10 || cfg.AdmitFor != DefaultAdmitFor {
		t.Fatalf("ParseSpec: %+v, %v", cfg, err)
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
