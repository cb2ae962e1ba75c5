package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/cmd/bookd-chaos/procs"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// watchersCmd measures live updates through one `bookd edge` process as
// shipped: n shoppers watch one event (WatchChanges at the edge) while
// bookings of it commit at -rate a second; it reports the edge's memory
// and CPU and, per booking, the time from its commit to the last watcher.
// The watchers come through a trusted proxy address (X-Forwarded-For), as
// behind a load balancer, since the edge bounds streams per client address.
func watchersCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("watchers", flag.ContinueOnError)
	var sf serverFlags
	sf.register(fs)
	n := fs.Int("n", 5000, "watchers of the event")
	rate := fs.Int("rate", 10, "bookings of the event a second")
	duration := fs.Duration("duration", 20*time.Second, "how long bookings are made")
	verbose := fs.Bool("v", false, "log what the servers do")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *rate < 1 || *duration <= 0 {
		return fmt.Errorf("-n, -rate and -duration must be above 0")
	}
	s, err := openBookdSession(ctx, &sf, *verbose, 16)
	if err != nil {
		return err
	}
	defer s.Close()
	dir, err := os.MkdirTemp("", "bookd-bench-edge-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := sf.bookdBin
	if bin == "" {
		if bin, err = procs.BuildBinary(dir); err != nil {
			return err
		}
	}
	edgeProc, addr, err := startEdgeProcess(ctx, bin, s.srv.(*bookdServers).endpoints())
	if err != nil {
		return err
	}
	defer func() { edgeProc.Process.Kill(); edgeProc.Wait() }()

	event, err := s.target.Prepare(ctx, Inventory{Name: "watched", Capacity: 10_000_000})
	if err != nil {
		return err
	}
	rss0 := rssOf(edgeProc.Process.Pid)
	w := &watchRun{arrivals: map[string]*arrival{}}
	wctx, stopWatchers := context.WithCancel(ctx)
	defer stopWatchers()
	opened := time.Now()
	if err := w.open(wctx, addr, event, *n); err != nil {
		return err
	}
	fmt.Printf("watchers: %d open through the edge in %.2fs; edge RSS %.1f MiB before, %.1f MiB with them\n",
		*n, time.Since(opened).Seconds(), rss0, rssOf(edgeProc.Process.Pid))

	cpu0 := cpuTime([]int{edgeProc.Process.Pid})
	booked := 0
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	end := time.Now().Add(*duration)
	run := fmt.Sprintf("watched-%d", time.Now().UnixNano())
	for time.Now().Before(end) && ctx.Err() == nil {
		<-tick.C
		if err := s.target.Book(ctx, event, Attempt{Key: fmt.Sprintf("%s-%d", run, booked), Customer: run, Quantity: 1}); err != nil {
			return fmt.Errorf("book: %w", err)
		}
		booked++
	}
	tick.Stop()
	// Let the last changes arrive.
	deadline := time.Now().Add(10 * time.Second)
	for w.complete(*n) < booked && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cpu := cpuTime([]int{edgeProc.Process.Pid}) - cpu0
	rss := rssOf(edgeProc.Process.Pid)
	stopWatchers()
	var toLast histogram
	full := 0
	w.mu.Lock()
	for _, a := range w.arrivals {
		if a.count == *n {
			full++
			toLast.add(a.last.Sub(a.committed))
		}
	}
	w.mu.Unlock()
	c := toLast.snapshot()
	fmt.Printf("changes: %d bookings at %d/s over %s; %d reached all %d watchers; commit to last watcher p50 %s p99 %s p100 %s\n",
		booked, *rate, *duration, full, *n, c.quantile(0.5), c.quantile(0.99), c.quantile(1))
	fmt.Printf("edge: %.2f CPU-seconds over the %s of changes (%.1f%% of one core); RSS %.1f MiB; streams ended early: %d\n",
		cpu.Seconds(), *duration, 100*cpu.Seconds()/duration.Seconds(), rss, w.ended.Load())
	if full != booked {
		return fmt.Errorf("AUDIT FAILED: %d of %d bookings reached every watcher", full, booked)
	}
	return nil
}

type arrival struct {
	committed, last time.Time
	count           int
}

type watchRun struct {
	mu       sync.Mutex
	arrivals map[string]*arrival // by change cursor
	ended    atomic.Int64
}

// open starts n watchers of event at the edge at addr and returns once each
// has its first (empty) message.
func (w *watchRun) open(ctx context.Context, addr, event string, n int) error {
	tr := &http.Transport{Protocols: new(http.Protocols), MaxIdleConnsPerHost: 1024}
	tr.Protocols.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: tr}
	var ready sync.WaitGroup
	var failed atomic.Pointer[error]
	for i := range n {
		ready.Add(1)
		fwd := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		cl := bookdv1connect.NewBookingServiceClient(hc, "http://"+addr, connect.WithInterceptors(forwardedFor(fwd)))
		go func() {
			stream, err := cl.WatchChanges(ctx, &bookdv1.WatchChangesRequest{EventId: event})
			if err == nil && !stream.Receive() {
				err = fmt.Errorf("watcher %d: stream ended at once: %w", i, stream.Err())
			}
			ready.Done()
			if err != nil {
				failed.Store(&err)
				return
			}
			defer stream.Close()
			for stream.Receive() {
				now := time.Now()
				w.mu.Lock()
				for _, c := range stream.Msg().GetChanges() {
					a := w.arrivals[c.GetCursor()]
					if a == nil {
						a = &arrival{committed: c.GetTime().AsTime()}
						w.arrivals[c.GetCursor()] = a
					}
					a.count++
					a.last = now
				}
				w.mu.Unlock()
			}
			if ctx.Err() == nil {
				w.ended.Add(1)
			}
		}()
	}
	ready.Wait()
	if p := failed.Load(); p != nil {
		return *p
	}
	return nil
}

// complete counts the changes every one of n watchers has received (each
// Book makes one, booking_confirmed).
func (w *watchRun) complete(n int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	full := 0
	for _, a := range w.arrivals {
		if a.count == n {
			full++
		}
	}
	return full
}

// forwardedFor sends each call as if a load balancer forwarded it for ip.
func forwardedFor(ip string) connect.Interceptor {
	return forwardInterceptor{ip}
}

type forwardInterceptor struct{ ip string }

func (f forwardInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("X-Forwarded-For", f.ip)
		return next(ctx, req)
	}
}

func (f forwardInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("X-Forwarded-For", f.ip)
		return conn
	}
}

func (f forwardInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// startEdgeProcess runs `bookd edge` for the cluster at endpoints with its
// shipped defaults, trusting loopback as its load balancer, and returns it
// with its address once it serves.
func startEdgeProcess(ctx context.Context, bin string, endpoints []string) (*exec.Cmd, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.CommandContext(ctx, bin, "edge", "--listen", addr, "--endpoints", strings.Join(endpoints, ","),
		"--trusted-proxy", "127.0.0.1/32", "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return cmd, addr, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, "", fmt.Errorf("bookd edge at %s did not answer /healthz", addr)
}

// rssOf is a process's resident memory in MiB (0 when unknown).
func rssOf(pid int) float64 {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
