package main

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/procs"
)

// The short run of `make test`: every fault kind against a 3-node cluster,
// with queue consumers (queues.go) beside the customers, with a fixed seed (the seed fixes the schedule of faults and operations,
// not the interleaving). `make chaos` runs the long randomized version.
func TestChaosShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster under faults for a minute")
	}
	bin, err := procs.BuildBinary(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep := runChaos(t, bin, 1, 60*time.Second, true)
	for _, kind := range faultKinds {
		if rep.Faults[kind] == 0 {
			t.Errorf("no %s fault was injected", kind)
		}
	}
	if rep.Ops < 500 {
		t.Errorf("only %d operations recorded: the run checked too little", rep.Ops)
	}
	for _, q := range rep.Queues {
		if q.Messages < 100 || q.Deliveries < q.Messages/2 {
			t.Errorf("queue %s: %d messages, %d deliveries seen: the consumers checked too little", q.Name, q.Messages, q.Deliveries)
		}
		if q.Name == workQueue && q.Crashes == 0 {
			t.Errorf("queue %s: no consumer crashed mid-batch", q.Name)
		}
	}
	if len(rep.Anomalies) > 0 {
		t.Errorf("%d anomalies", len(rep.Anomalies))
	}
}

// TestChaosCatchesADoubleHold proves the suite has teeth: a bookd whose
// state machine lets a held seat be claimed again must fail the short run.
// The same bookd's queues also take no message for an expired hold and
// deliver a message once more than max_attempts before dead-lettering it:
// the queue checks must fail too.
func TestChaosCatchesADoubleHold(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a broken bookd and runs it under faults")
	}
	bin := buildMutant(t, map[string]map[string]string{
		// Claiming checks only for booked seats, so a held seat is claimable...
		"fsm/inventory.go": {"case state != seatFree:": "case state == seatBooked:"},
		// ...and moving a seat no longer insists on the state it leaves.
		"fsm/seatindex.go": {"if !found || es.state[no] != from {": "if !found {"},
		"fsm/seats.go":     {"if chunk[no%seatChunk] != from {": "if false {"},
		// The queues lose the hold expirations' messages...
		"fsm/queues.go": {"BinarySearch(q.GetKinds(), c.GetKind()); !ok {": `BinarySearch(q.GetKinds(), c.GetKind()); !ok || c.GetKind() == "hold_expired" {`},
		// ...and dead-letter a nacked message one delivery late.
		"fsm/queuemsgs.go": {"rec.GetAttempts() >= q.GetMaxAttempts()": "rec.GetAttempts() > q.GetMaxAttempts()"},
	})
	rep := runChaos(t, bin, 2, 20*time.Second, false)
	var seats, queues []string
	for _, a := range rep.Anomalies {
		if strings.HasPrefix(a, "QUEUE ") {
			queues = append(queues, a)
		} else {
			seats = append(seats, a)
		}
	}
	if len(seats) == 0 {
		t.Errorf("a state machine that double-claims seats passed the chaos run")
	}
	if len(queues) == 0 {
		t.Errorf("queues that lose messages and overshoot max_attempts passed the chaos run")
	}
	t.Logf("caught: %s", strings.Join(seats[:min(3, len(seats))], "; "))
	t.Logf("caught: %s", strings.Join(queues[:min(3, len(queues))], "; "))
}

// runChaos runs the suite; keep saves the run's directory when it finds
// anomalies.
func runChaos(t *testing.T, bin string, seed uint64, d time.Duration, keep bool) *report {
	t.Helper()
	dir := t.TempDir()
	faults := map[string]bool{}
	for _, k := range faultKinds {
		faults[k] = true
	}
	cfg := config{
		Seed: seed, Duration: d, Nodes: 3, Clients: 16, Binary: bin, Dir: dir,
		Election: 500 * time.Millisecond, MaxSkew: 2 * time.Second, CheckTimeout: time.Minute,
		Faults: faults, Queues: true, Out: io.Discard, Logger: slog.New(slog.DiscardHandler),
	}
	rep, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("chaos run: %v\n%s", err, logTails(dir))
	}
	var out strings.Builder
	rep.print(&out, cfg)
	t.Log("\n" + out.String())
	if keep && len(rep.Anomalies) > 0 {
		saved := filepath.Join(os.TempDir(), "bookd-chaos-"+t.Name())
		os.RemoveAll(saved)
		if err := os.CopyFS(saved, os.DirFS(dir)); err == nil {
			t.Logf("history, visualization and logs kept in %s", saved)
		}
	}
	return rep
}

func logTails(dir string) string {
	var b strings.Builder
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		b.WriteString("== " + filepath.Base(l) + "\n" + strings.Join(lines[max(0, len(lines)-15):], "\n") + "\n")
	}
	return b.String()
}

// buildMutant copies the module, applies replacements to files (each must
// match exactly once, so the mutation cannot silently stop applying), and
// builds bookd from the copy.
func buildMutant(t *testing.T, files map[string]map[string]string) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	copyDir := filepath.Join(t.TempDir(), "src")
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if name := d.Name(); rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin" || name == "data") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(copyDir, rel), 0o755)
		}
		// Go sources, the module files, and files the binary embeds.
		embedded := strings.Contains(filepath.ToSlash(rel), "/static/")
		if !strings.HasSuffix(path, ".go") && !strings.HasPrefix(d.Name(), "go.") && !embedded {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(copyDir, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, edits := range files {
		target := filepath.Join(copyDir, file)
		src, err := os.ReadFile(target)
		if err != nil {
			t.Fatal(err)
		}
		s := string(src)
		for from, to := range edits {
			if n := strings.Count(s, from); n != 1 {
				t.Fatalf("mutation %q matches %d times in %s: update the test", from, n, file)
			}
			s = strings.Replace(s, from, to, 1)
		}
		if err := os.WriteFile(target, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "bookd-mutant")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/bookd")
	cmd.Dir = copyDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build mutant: %v\n%s", err, out)
	}
	return bin
}
