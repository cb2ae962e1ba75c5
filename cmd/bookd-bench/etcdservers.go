package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Settings of the etcd cluster the bench starts. Durability is etcd's
// default (every raft entry fsynced); only the limits that a large seated
// event would hit are raised.
const (
	// etcdQuotaBytes is the backend size limit: 8 GiB (etcd's recommended
	// maximum) instead of 2 GiB, so a 50,000-seat event and its bookings
	// never raise the NOSPACE alarm during a run.
	etcdQuotaBytes = 8 << 30
	// etcdCompactRevisions keeps this many revisions of history; older ones
	// are compacted so that the many writes of a hot counter do not grow the
	// database for ever.
	etcdCompactRevisions = 10000
	// etcdMaxTxnOps is raised from 128 so a confirm of a large seat block
	// fits in one transaction; Prepare still writes seats 128 at a time.
	etcdMaxTxnOps = 1024
	// etcdStartTimeout bounds the wait for a fresh cluster to answer.
	etcdStartTimeout = 30 * time.Second
	// etcdStopGrace is how long Stop waits after SIGTERM before SIGKILL.
	etcdStopGrace = 10 * time.Second
)

// etcdServers is a static etcd cluster on loopback started by startEtcd.
type etcdServers struct {
	procs     []*peerProc
	endpoints []string // client URLs, one per node
	logf      func(string, ...any)
}

// startEtcd starts a cluster of nodes etcd processes on 127.0.0.1, each with
// its data in dir/<name>.etcd and its log in dir/<name>.log, and returns once
// the cluster answers a read. The processes run in process groups of their
// own and are killed by the kernel if the bench dies.
func startEtcd(ctx context.Context, dir string, nodes int, logf func(string, ...any)) (Servers, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if nodes < 1 {
		return nil, fmt.Errorf("etcd: %d nodes asked, need at least 1", nodes)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	bin, err := exec.LookPath("etcd")
	if err != nil {
		return nil, fmt.Errorf("etcd: binary not found: %w", err)
	}
	ports, err := peerFreePorts(2 * nodes)
	if err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	names := make([]string, nodes)
	peerURLs := make([]string, nodes)
	clientURLs := make([]string, nodes)
	initial := make([]string, nodes)
	for i := range nodes {
		names[i] = fmt.Sprintf("etcd%d", i+1)
		clientURLs[i] = fmt.Sprintf("http://127.0.0.1:%d", ports[2*i])
		peerURLs[i] = fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1])
		initial[i] = names[i] + "=" + peerURLs[i]
	}

	s := &etcdServers{endpoints: clientURLs, logf: logf}
	for i, name := range names {
		args := []string{
			"--name", name,
			"--data-dir", filepath.Join(dir, name+".etcd"),
			"--listen-client-urls", clientURLs[i],
			"--advertise-client-urls", clientURLs[i],
			"--listen-peer-urls", peerURLs[i],
			"--initial-advertise-peer-urls", peerURLs[i],
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new",
			"--initial-cluster-token", "bookd-bench",
			"--quota-backend-bytes", strconv.FormatInt(etcdQuotaBytes, 10),
			"--auto-compaction-mode", "revision",
			"--auto-compaction-retention", strconv.Itoa(etcdCompactRevisions),
			"--max-txn-ops", strconv.Itoa(etcdMaxTxnOps),
			"--logger", "zap",
			"--log-outputs", "stderr",
		}
		p, err := startPeerProc(name, filepath.Join(dir, name+".log"), nil, syscall.SIGKILL, bin, args...)
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("etcd: %w", err)
		}
		s.procs = append(s.procs, p)
	}
	logf("etcd: started %d nodes, clients at %s", nodes, strings.Join(clientURLs, ","))

	start := time.Now()
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	logf("etcd: cluster answers after %v", time.Since(start).Round(time.Millisecond))
	return s, nil
}

// waitReady polls the cluster with a linearizable read until one succeeds,
// a node exits, or etcdStartTimeout passes.
func (s *etcdServers) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, etcdStartTimeout)
	defer cancel()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   s.endpoints,
		DialTimeout: time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return fmt.Errorf("etcd: client for readiness check: %w", err)
	}
	defer c.Close()
	var last error
	for {
		for _, p := range s.procs {
			if p.exited() {
				return fmt.Errorf("etcd: %s exited during start-up (%v); log ends:\n%s", p.name, p.exitErr(), p.logTail())
			}
		}
		rctx, rcancel := context.WithTimeout(ctx, time.Second)
		_, last = c.Get(rctx, "/bookd-bench/ready")
		rcancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcd: cluster did not answer within %v: %w; %s log ends:\n%s",
				etcdStartTimeout, last, s.procs[0].name, s.procs[0].logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Connect opens an etcd Target on the cluster.
func (s *etcdServers) Connect(ctx context.Context, clients int) (Target, error) {
	return newEtcdTarget(s.endpoints, clients)
}

// PIDs are the etcd processes.
func (s *etcdServers) PIDs() []int {
	pids := make([]int, 0, len(s.procs))
	for _, p := range s.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	return pids
}

// Stop stops the nodes one after the other with SIGTERM, killing any still
// running etcdStopGrace after it. One at a time, because a leader stopping
// hands its leadership to a live follower first, and when every node is
// stopped at once that hand-over waits 7 s for followers that are gone.
// Data directories are kept.
func (s *etcdServers) Stop() error {
	start := time.Now()
	var all []error
	for _, p := range s.procs {
		if err := p.stop(syscall.SIGTERM, etcdStopGrace); err != nil {
			all = append(all, err)
		}
	}
	if err := errors.Join(all...); err != nil {
		return fmt.Errorf("etcd: stop: %w", err)
	}
	s.logf("etcd: stopped in %v", time.Since(start).Round(time.Millisecond))
	return nil
}

// peerProc is one server process the bench started for a peer system (the
// etcd nodes, the PostgreSQL postmaster): its command, log and exit.
type peerProc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once the process has exited
	err     error         // the result of Wait, set before done is closed
}

// startPeerProc starts bin with args in a process group of its own, in the
// directory of logPath, with stdout and stderr appended to logPath. cred, if
// set, is the user to run as; deathSig is what the kernel sends the process
// if the bench dies.
func startPeerProc(name, logPath string, cred *syscall.Credential, deathSig syscall.Signal, bin string, args ...string) (*peerProc, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = filepath.Dir(logPath)
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  deathSig,
		Credential: cred,
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("%s: start %s: %w", name, bin, err)
	}
	p := &peerProc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *peerProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitErr is how the process ended; call it only once exited is true.
func (p *peerProc) exitErr() error {
	<-p.done
	if p.err == nil {
		return errors.New("exit status 0")
	}
	return p.err
}

// stop sends sig and waits up to grace for the process to exit, then kills
// its whole process group. Exiting because of sig, or with status 0, is a
// clean stop; a process that had already exited by itself is reported.
func (p *peerProc) stop(sig syscall.Signal, grace time.Duration) error {
	if p.exited() {
		return fmt.Errorf("%s had already exited: %v", p.name, p.exitErr())
	}
	pid := p.cmd.Process.Pid
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: signal %v: %w", p.name, sig, err)
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s did not stop within %v of %v and was killed", p.name, grace, sig)
	}
	if p.err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == sig {
			return nil
		}
	}
	return fmt.Errorf("%s stopped with %v", p.name, p.err)
}

// logTail is the end of the process's log, for error messages.
func (p *peerProc) logTail() string {
	const max = 2048
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", p.logPath, err)
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// peerFreePorts returns n distinct TCP ports free on 127.0.0.1 right now,
// found by listening on port 0. They are all held open until all are
// found, so they differ; another program could still take one before the
// server binds it, which start-up would then report.
func peerFreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
