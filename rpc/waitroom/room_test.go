package waitroom

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPreQueueIsShuffledAtOnSaleAndLaterArrivalsQueueFIFO(t *testing.T) {
	f := newFixture(t)
	onSale := f.clk.now().Add(time.Minute)
	f.configure(t, Config{EventID: "ev1", OnSale: onSale, Rate: 1, TicketTimeout: 5 * time.Minute})
	var early []string
	for i := range 30 {
		st := f.join(t, "ev1", fmt.Sprintf("early-%d", i))
		if st.State != StatePreQueue || st.Position != 0 || st.PreQueue != i+1 {
			t.Fatalf("before on-sale: %+v, want pre_queue of %d with no position", st, i+1)
		}
		early = append(early, st.Ticket)
		f.clk.add(time.Second)
	}
	f.clk.add(30 * time.Second) // now exactly on sale
	late := []string{f.join(t, "ev1", "late-0").Ticket, f.join(t, "ev1", "late-1").Ticket}

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

func TestCapOnActiveShoppersAndCheck(t *testing.T) {
	f := newFixture(t)
	f.configure(t, Config{EventID: "ev1", Rate: 100, MaxActive: 2, AdmitFor: time.Minute, TicketTimeout: 5 * time.Minute})
	var sts []Status
	for i := range 4 {
		sts = append(sts, f.join(t, "ev1", fmt.Sprintf("c%d", i)))
		f.clk.add(time.Second)
	}
	if s := f.states(t, "ev1", sts); !slices.Equal(s, []State{StateAdmitted, StateAdmitted, StateWaiting, StateWaiting}) {
		t.Fatalf("with a cap of 2: %v", s)
	}
	first := f.status(t, "ev1", sts[0].Ticket)
	for _, tc := range []struct {
		name, event, customer, token string
		want                         error
	}{
		{"its own token", "ev1", "c0", first.Token, nil},
		{"no token", "ev1", "c0", "", ErrAdmissionRequired},
		{"another's token", "ev1", "c1", first.Token, ErrWrongCustomer},
		{"a token for another event", "ev2", "c0", first.Token, nil}, // ev2 has no room
		{"an event with no room", "ungated", "c0", "", nil},
		{"a forged token", "ev1", "c0", "x." + strings.Repeat("A", 43), ErrBadToken},
	} {
		if err := f.Check(tc.event, tc.customer, tc.token); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("Check with %s: %v, want %v", tc.name, err, tc.want)
		}
	}

	// The first shopper confirms: the third gets in.
	f.Finish("ev1", "c0")
	if s := f.states(t, "ev1", sts); !slices.Equal(s, []State{StateDone, StateAdmitted, StateAdmitted, StateWaiting}) {
		t.Fatalf("after one finished: %v", s)
	}
	// Admissions run out after a minute: the fourth gets in, and the
	// tickets whose admission ran out (done or not) are forgotten.
	f.clk.add(time.Minute)
	if err := f.Check("ev1", "c0", first.Token); !errors.Is(err, ErrExpired) {
		t.Fatalf("Check after the admission ran out: %v", err)
	}
	if st := f.status(t, "ev1", sts[3].Ticket); st.State != StateAdmitted {
		t.Fatalf("fourth after the others' admissions ran out: %+v", st)
	}
	for _, st := range sts[:3] {
		if _, err := f.Status(context.Background(), "ev1", st.Ticket, f.owner[st.Ticket]); !errors.Is(err, ErrUnknownTicket) {
			t.Fatalf("a ticket whose admission ran out: %v, want ErrUnknownTicket", err)
		}
	}
}

func TestSoldOutClosesTheQueueUntilStockComesBack(t *testing.T) {
	f := newFixture(t)
	f.configure(t, Config{EventID: "ev1", Rate: 1})
	a := f.join(t, "ev1", "a")
	b := f.join(t, "ev1", "b")
	if a.State != StateAdmitted || b.State != StateWaiting {
		t.Fatalf("first two: %s, %s", a.State, b.State)
	}
	f.setSoldOut(true)
	f.clk.add(10 * time.Second)
	if st := f.status(t, "ev1", b.Ticket); st.State != StateSoldOut {
		t.Fatalf("waiting while sold out: %+v, want sold_out", st)
	}
	if st := f.status(t, "ev1", a.Ticket); st.State != StateAdmitted {
		t.Fatalf("admitted while sold out: %+v, want still admitted", st)
	}
	if st := f.join(t, "ev1", "c"); st.State != StateSoldOut {
		t.Fatalf("arriving while sold out: %+v, want sold_out", st)
	}
	f.setSoldOut(false) // a hold expired
	f.clk.add(time.Second)
	if st := f.status(t, "ev1", b.Ticket); st.State != StateAdmitted {
		t.Fatalf("after stock came back: %+v, want admitted", st)
	}
}

func TestJoiningAgainKeepsTheTicketAndItsPlace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		before  []string // who joins first
		want    State
		wantPos int
	}{
		{"pre-queue", Config{OnSale: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Rate: 1}, []string{"x"}, StatePreQueue, 0},
		{"waiting", Config{Rate: 1, MaxActive: 1}, []string{"x", "y"}, StateWaiting, 2},
		{"admitted", Config{Rate: 1}, nil, StateAdmitted, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.cfg.EventID = "ev1"
			f.configure(t, tc.cfg)
			for _, c := range tc.before {
				f.join(t, "ev1", c)
			}
			first := f.join(t, "ev1", "me")
			later := f.join(t, "ev1", "later")
			f.clk.add(time.Second)
			again := f.join(t, "ev1", "me")
			if again.Ticket != first.Ticket || again.State != tc.want || again.Position != tc.wantPos || again.Token != first.Token {
				t.Fatalf("joining again: %+v, first %+v; want the same ticket, %s at %d", again, first, tc.want, tc.wantPos)
			}
			st := f.status(t, "ev1", later.Ticket)
			if tc.want == StatePreQueue && st.PreQueue != len(tc.before)+2 {
				t.Fatalf("pre-queue after joining twice: %d, want %d", st.PreQueue, len(tc.before)+2)
			}
			if tc.want == StateWaiting && st.Position != tc.wantPos+1 {
				t.Fatalf("the one behind is at %d, want %d", st.Position, tc.wantPos+1)
			}
		})
	}
}

func TestATicketAnswersOnlyToItsCustomer(t *testing.T) {
	f := newFixture(t)
	f.configure(t, Config{EventID: "ev1", Rate: 1, MaxActive: 1})
	mine := f.join(t, "ev1", "alice")
	waiting := f.join(t, "ev1", "carol")
	if mine.State != StateAdmitted || waiting.State != StateWaiting {
		t.Fatalf("joined: %+v, %+v", mine, waiting)
	}
	_, missing := f.Status(context.Background(), "ev1", "0123456789abcdef0123456789abcdef", "alice")
	for _, tc := range []struct{ name, ticket, customer string }{
		{"another customer", mine.Ticket, "mallory"},
		{"a customer id differing in case", mine.Ticket, "Alice"},
		{"no customer", mine.Ticket, ""},
		{"a ticket that does not exist", "0123456789abcdef0123456789abcdef", "alice"},
	} {
		st, err := f.Status(context.Background(), "ev1", tc.ticket, tc.customer)
		if !errors.Is(err, ErrUnknownTicket) || err.Error() != missing.Error() || st.Token != "" {
			t.Errorf("status of %s: %+v, %v; want the answer for a missing ticket (%v)", tc.name, st, err, missing)
		}
	}
	// A stranger's polls do not keep a ticket: it times out unpolled.
	f.clk.add(30 * time.Second)
	f.Status(context.Background(), "ev1", waiting.Ticket, "mallory")
	f.status(t, "ev1", mine.Ticket)
	f.clk.add(30 * time.Second)
	f.Status(context.Background(), "ev1", waiting.Ticket, "mallory")
	if _, err := f.Status(context.Background(), "ev1", waiting.Ticket, "carol"); !errors.Is(err, ErrUnknownTicket) {
		t.Fatalf("a ticket only strangers polled for a minute: %v, want dropped", err)
	}
	if _, err := f.Join(context.Background(), "ev1", ""); !errors.Is(err, ErrNoCustomer) {
		t.Fatalf("joining without a customer: %v", err)
	}
	if _, err := f.Join(context.Background(), "ev1", strings.Repeat("c", 129)); !errors.Is(err, ErrNoCustomer) {
		t.Fatalf("joining with a 129-byte customer id: %v", err)
	}
}

func TestIdleShopperLosesThePlace(t *testing.T) {
	for _, tc := range []struct {
		name     string
		activity func(t *testing.T, f *fixture, admitted Status) // by the admitted shopper, every 30 s
		keeps    bool
	}{
		{"no activity", func(*testing.T, *fixture, Status) {}, false},
		{"status polls", func(t *testing.T, f *fixture, st Status) { f.status(t, "ev1", st.Ticket) }, true},
		{"checks", func(t *testing.T, f *fixture, st Status) {
			if err := f.Check("ev1", "a", st.Token); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"touches", func(_ *testing.T, f *fixture, _ Status) { f.Touch("ev1", "a") }, true},
		{"joining again", func(t *testing.T, f *fixture, _ Status) { f.join(t, "ev1", "a") }, true},
		{"checks with its token as another", func(_ *testing.T, f *fixture, st Status) { f.Check("ev1", "b", st.Token) }, false},
		{"touches by another", func(_ *testing.T, f *fixture, _ Status) { f.Touch("ev1", "b") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.configure(t, Config{EventID: "ev1", Rate: 100, MaxActive: 1}) // IdleFor 2 min
			a := f.join(t, "ev1", "a")
			b := f.join(t, "ev1", "b")
			var last Status
			for range 4 { // b polls at 30, 60, 90 and 120 s, then a acts
				f.clk.add(30 * time.Second)
				last = f.status(t, "ev1", b.Ticket)
				tc.activity(t, f, a)
			}
			if want := map[bool]State{true: StateWaiting, false: StateAdmitted}[tc.keeps]; last.State != want {
				t.Fatalf("b after 2 min: %+v, want %s", last, want)
			}
			_, err := f.Status(context.Background(), "ev1", a.Ticket, "a")
			if tc.keeps && err != nil || !tc.keeps && !errors.Is(err, ErrUnknownTicket) {
				t.Fatalf("a after 2 min of %s: %v", tc.name, err)
			}
			if !tc.keeps {
				// a's token still verifies until it runs out (the state
				// machine bounds what it spends); a re-joins at the back.
				if err := f.Check("ev1", "a", a.Token); err != nil {
					t.Fatalf("a's token after a lost the place: %v", err)
				}
				if again := f.join(t, "ev1", "a"); again.Ticket == a.Ticket || again.State != StateWaiting || again.Position != 1 {
					t.Fatalf("a joining again after losing the place: %+v, want a new ticket, waiting", again)
				}
			}
		})
	}
}

func TestUnpolledTicketIsDropped(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		// where c, behind b, stands before and after b is dropped
		where func(Status) int
		want  [2]int
	}{
		{"waiting", Config{Rate: 1, MaxActive: 1}, func(st Status) int { return st.Position }, [2]int{3, 2}},
		{"pre-queue", Config{Rate: 1, OnSale: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}, func(st Status) int { return st.PreQueue }, [2]int{4, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.cfg.EventID = "ev1"
			f.configure(t, tc.cfg) // TicketTimeout 1 min
			x := f.join(t, "ev1", "x")
			a := f.join(t, "ev1", "a")
			b := f.join(t, "ev1", "b")
			c := f.join(t, "ev1", "c")
			if got := tc.where(c); got != tc.want[0] {
				t.Fatalf("c before: %+v, want %d", c, tc.want[0])
			}
			for range 2 { // everyone but b polls at 30 and 60 s
				f.clk.add(30 * time.Second)
				for _, st := range []Status{x, a, c} {
					f.status(t, "ev1", st.Ticket)
				}
			}
			if st := f.status(t, "ev1", c.Ticket); tc.where(st) != tc.want[1] {
				t.Fatalf("c after b was dropped: %+v, want %d", st, tc.want[1])
			}
			if _, err := f.Status(context.Background(), "ev1", b.Ticket, "b"); !errors.Is(err, ErrUnknownTicket) {
				t.Fatalf("b, not polled for a minute: %v, want dropped", err)
			}
			if again := f.join(t, "ev1", "b"); again.Ticket == b.Ticket || tc.where(again) != tc.want[0] {
				t.Fatalf("b joining again: %+v, want a new ticket at the back (%d)", again, tc.want[0])
			}
		})
	}
}

func TestFinishFreesThePlaceAtOnceAndAdmitsNoOneTwice(t *testing.T) {
	f := newFixture(t)
	f.configure(t, Config{EventID: "ev1", Rate: 1, MaxActive: 1})
	start := f.clk.now()
	a := f.join(t, "ev1", "a")
	b := f.join(t, "ev1", "b")
	c := f.join(t, "ev1", "c")
	f.clk.add(5 * time.Second)
	if s := f.states(t, "ev1", []Status{a, b, c}); !slices.Equal(s, []State{StateAdmitted, StateWaiting, StateWaiting}) {
		t.Fatalf("full room: %v", s)
	}

	f.Finish("ev1", "c") // not admitted: nothing to free
	f.Finish("ev1", "a")
	if st := f.status(t, "ev1", b.Ticket); st.State != StateAdmitted || st.Token == "" {
		t.Fatalf("next in line, polling right after a finished: %+v, want admitted", st)
	}
	if st := f.status(t, "ev1", c.Ticket); st.State != StateWaiting || st.Position != 1 {
		t.Fatalf("c: %+v, want next in line", st)
	}

	// a is done: polling and joining again show it, with no token, even
	// when the room has a free place.
	f.Finish("ev1", "b")
	f.clk.add(5 * time.Second)
	if st := f.status(t, "ev1", c.Ticket); st.State != StateAdmitted {
		t.Fatalf("c after b finished: %+v, want admitted", st)
	}
	f.Finish("ev1", "c")
	f.clk.add(5 * time.Second)
	wantUntil := start.Add(DefaultAdmitFor)
	for _, st := range []Status{f.status(t, "ev1", a.Ticket), f.join(t, "ev1", "a")} {
		if st.Ticket != a.Ticket || st.State != StateDone || st.Token != "" || !st.AdmittedUntil.Equal(wantUntil) {
			t.Fatalf("a after finishing, with the room empty: %+v, want done until %v, no token", st, wantUntil)
		}
	}
	if err := f.Check("ev1", "a", a.Token); err != nil {
		t.Fatalf("a's token after finishing: %v (the state machine, not the room, counts what it spends)", err)
	}

	// Once its admission would have run out, the room forgets a: joining
	// again is a new arrival.
	f.clk.add(wantUntil.Sub(f.clk.now()))
	again := f.join(t, "ev1", "a")
	if again.Ticket == a.Ticket || again.State != StateAdmitted {
		t.Fatalf("a joining after its admission ran out: %+v, want a new ticket", again)
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
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSpec(%q) = %v, want an error with %q", tc.spec, err, tc.want)
		}
	}
	f := newFixture(t)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{EventID: "ev1", Rate: 1, HoldsPerAdmission: -1}, "holds_per_admission: -1 is negative"},
		{Config{EventID: "ev1", Rate: 1, TicketsPerAdmission: -2}, "tickets_per_admission: -2 is negative"},
		{Config{EventID: "ev1", Rate: 1, IdleFor: -time.Second}, "idle_for: -1s is negative"},
		{Config{EventID: "ev1", Rate: 1, TicketTimeout: -time.Second}, "ticket_timeout: -1s is negative"},
		{Config{EventID: "ev1", Rate: 1, AdmitFor: -time.Second}, "admit_for: -1s is negative"},
	} {
		if err := f.Configure(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Configure(%+v) = %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
	cfg, err := ParseSpec("ev1,5,10,2026-11-23T10:00:00Z")
	want := Config{EventID: "ev1", Rate: 5, MaxActive: 10, OnSale: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		AdmitFor: DefaultAdmitFor, HoldsPerAdmission: 1, IdleFor: DefaultIdleFor, TicketTimeout: DefaultTicketTimeout}
	if err != nil || cfg != want {
		t.Fatalf("ParseSpec: %+v, %v; want %+v", cfg, err, want)
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
}
