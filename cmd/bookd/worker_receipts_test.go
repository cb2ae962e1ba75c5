package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/cmd/bookd/mailbox"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
)

// workerProc is a `bookd worker receipts` process.
type workerProc struct {
	t    *testing.T
	args []string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	logs []string // of the processes before this one
	// exited is closed when the running process ends.
	exited chan struct{}
}

func (w *workerProc) start() {
	w.t.Helper()
	w.log = new(bytes.Buffer)
	w.cmd = exec.Command(w.args[0], w.args[1:]...)
	w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	if err := w.cmd.Start(); err != nil {
		w.t.Fatalf("start worker: %v", err)
	}
	cmd, exited := w.cmd, make(chan struct{})
	w.exited = exited
	go func() { cmd.Wait(); close(exited) }()
}

// stop ends the process with sig and waits for it.
func (w *workerProc) stop(sig syscall.Signal) {
	if w.cmd == nil {
		return
	}
	w.cmd.Process.Signal(sig)
	<-w.exited
	w.logs = append(w.logs, w.log.String())
	w.cmd = nil
}

func (w *workerProc) dump() {
	for i, l := range append(w.logs, w.log.String()) {
		w.t.Logf("worker process %d:\n%s", i+1, l)
	}
}

// htmlPart returns the decoded text/html part of a receipt.
func htmlPart(t *testing.T, data []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			t.Fatalf("no text/html part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			b, err := io.ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

var receiptSubject = regexp.MustCompile(`^Your booking (bk_[0-9-]+): `)

// receiptsOf waits until the mailbox holds a receipt for every booking in
// want (booking id → address) and returns how many messages carried each
// Message-ID. It fails the test if a receipt went to another address.
func receiptsOf(t *testing.T, ctx context.Context, box *mailbox.Mailbox, want map[string]string, w *workerProc) map[string]int {
	t.Helper()
	for {
		changed := box.Changed()
		byID := map[string]int{}
		got := map[string]bool{}
		for _, m := range box.Messages() {
			sub := receiptSubject.FindStringSubmatch(m.Subject)
			if sub == nil {
				continue
			}
			addr, ok := want[sub[1]]
			if !ok {
				continue
			}
			if len(m.To) != 1 || m.To[0] != addr {
				t.Fatalf("the receipt of %s went to %q, want %s", sub[1], m.To, addr)
			}
			byID[m.MessageID]++
			got[sub[1]] = true
		}
		if len(got) == len(want) {
			return byID
		}
		select {
		case <-changed:
		case <-w.exited:
			w.dump()
			t.Fatalf("the worker exited with %d of %d receipts delivered", len(got), len(want))
		case <-ctx.Done():
			w.dump()
			t.Fatalf("%d of %d receipts arrived: %v", len(got), len(want), ctx.Err())
		}
	}
}

// bookBurst makes n bookings of one ticket each, 8 at a time, each with
// its own contact address, and returns booking id → address.
func bookBurst(ctx context.Context, cl *client.Client, eventID, prefix string, n int) (map[string]string, error) {
	var mu sync.Mutex
	out := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				addr := fmt.Sprintf("%s%04d@example.com", prefix, i)
				bk, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: eventID, CustomerId: fmt.Sprintf("%s%04d", prefix, i),
					Quantity: 1, ContactEmail: addr, IdempotencyKey: fmt.Sprintf("%s-%d", prefix, i)})
				if err != nil {
					errs <- fmt.Errorf("book %s: %w", addr, err)
					continue
				}
				mu.Lock()
				out[bk.GetId()] = addr
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	return out, <-errs // nil when none failed
}

// waitCount waits until the mailbox has at least n messages.
func waitCount(t *testing.T, ctx context.Context, box *mailbox.Mailbox, n int, w *workerProc) {
	t.Helper()
	for {
		changed := box.Changed()
		if len(box.Messages()) >= n {
			return
		}
		select {
		case <-changed:
		case <-w.exited:
			w.dump()
			t.Fatalf("the worker exited; the mailbox has %d messages, waited for %d", len(box.Messages()), n)
		case <-ctx.Done():
			w.dump()
			t.Fatalf("the mailbox has %d messages, waited for %d: %v", len(box.Messages()), n, ctx.Err())
		}
	}
}

// The receipts worker as a real process on a real 3-node cluster, sending
// to a real SMTP server: without kills every booking gets exactly one
// receipt; through 1,000 bookings with the worker SIGKILLed twice mid-run
// and started again, every booking still gets its receipt, and a receipt
// that arrives twice has the same Message-ID and is one of at most one per
// kill (the worker runs one handler at a time, so a kill interrupts at most
// one delivery; only a kill between the server's 250 and the journal's
// fsync, or before the 250 reached the worker, sends one again).
func TestReceiptsWorkerProcess(t *testing.T) {
	bin := buildBinary(t)
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cl, err := client.New(c.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	q := bookdv1connect.NewQueueServiceClient(http.DefaultClient, "http://"+c.WaitReady().RPCAddr)
	if _, err := q.CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{Name: "receipts",
		Kinds: []string{"booking_confirmed", "booking_cancelled"}, MaxAttempts: 100,
		RetryMin: durationpb.New(200 * time.Millisecond), RetryMax: durationpb.New(2 * time.Second)}}); err != nil {
		t.Fatal(err)
	}
	ev, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Harbour <i>night</i> cruise", Capacity: 2000})
	if err != nil {
		t.Fatal(err)
	}
	box, err := mailbox.Listen("127.0.0.1:0", mailbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	journal := filepath.Join(t.TempDir(), "receipts.journal")
	worker := func(concurrency string) *workerProc {
		return &workerProc{t: t, args: []string{bin, "worker", "receipts", "--endpoints", strings.Join(c.Endpoints(), ","),
			"--queue", "receipts", "--smtp-addr", box.Addr(), "--smtp-from", "receipts@bookd.test",
			"--journal", journal, "--concurrency", concurrency, "--visibility", "2s", "--log-level", "warn"}}
	}

	// Without kills: exactly one receipt per booking, and a hostile
	// customer id is text in the HTML part.
	w := worker("4")
	w.start()
	defer func() { w.stop(syscall.SIGKILL) }()
	want, err := bookBurst(ctx, cl, ev.GetId(), "calm", 200)
	if err != nil {
		t.Fatal(err)
	}
	hostile, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: `<script>alert(1)</script>`,
		Quantity: 1, ContactEmail: "mallory@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	want[hostile.GetId()] = "mallory@example.com"
	for id, n := range receiptsOf(t, ctx, box, want, w) {
		if n != 1 {
			t.Errorf("without kills, %s arrived %d times", id, n)
		}
	}
	for _, m := range box.Messages() {
		if !strings.Contains(m.Subject, hostile.GetId()) {
			continue
		}
		html := htmlPart(t, m.Data)
		if !strings.Contains(html, "&lt;script&gt;") || strings.Contains(html, "<script>") || strings.Contains(html, "<i>night") {
			t.Errorf("the receipt of %s carries markup from the booking unescaped:\n%s", hostile.GetId(), html)
		}
	}
	w.stop(syscall.SIGTERM)
	before := len(box.Messages())

	// 1,000 bookings; the worker, one handler at a time, is killed twice
	// while they are made and it works through them.
	w = worker("1")
	w.start()
	type burst struct {
		want map[string]string
		err  error
	}
	burstDone := make(chan burst, 1)
	go func() {
		want, err := bookBurst(ctx, cl, ev.GetId(), "burst", 1000)
		burstDone <- burst{want, err}
	}()
	kills := 0
	for _, at := range []int{150, 500} {
		waitCount(t, ctx, box, before+at, w)
		w.stop(syscall.SIGKILL)
		kills++
		w.start()
	}
	b := <-burstDone
	if b.err != nil {
		t.Fatal(b.err)
	}
	want = b.want
	byID := receiptsOf(t, ctx, box, want, w)
	dups := 0
	for _, n := range byID {
		dups += n - 1
	}
	t.Logf("%d receipts for %d bookings, %d sent twice, %d kills", len(box.Messages())-before, len(want), dups, kills)
	if len(byID) != len(want) {
		t.Errorf("%d Message-IDs for %d bookings, want one each", len(byID), len(want))
	}
	if dups > kills {
		w.dump()
		t.Errorf("%d receipts arrived twice, more than the %d kills explain", dups, kills)
	}
	// Every message is acked in the end; none is dead.
	for {
		got, err := q.GetQueue(ctx, &bookdv1.GetQueueRequest{Queue: "receipts"})
		if err != nil {
			t.Fatal(err)
		}
		if s := got.GetQueue().GetStats(); s.GetDepth() == 0 {
			if s.GetDeadLetters() != 0 {
				t.Errorf("queue stats %v: want no dead letters", s)
			}
			break
		}
		select {
		case <-ctx.Done():
			w.dump()
			t.Fatalf("the receipts queue never drained: %v", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	// The journal names each delivered receipt once (read once the
	// worker has stopped: it writes a key after the server's 250).
	w.stop(syscall.SIGTERM)
	data, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(data), "\n"); lines != 201+len(want) {
		t.Errorf("the journal has %d keys, want one per receipt: %d", lines, 201+len(want))
		inJournal := map[string]bool{}
		for _, k := range strings.Split(string(data), "\n") {
			inJournal["<receipt."+strings.ReplaceAll(k, ":", ".")+"@bookd.test>"] = true
		}
		for _, m := range box.Messages() {
			if !inJournal[m.MessageID] {
				t.Logf("not in the journal: %s %s", m.MessageID, m.Subject)
			}
		}
	}
}
