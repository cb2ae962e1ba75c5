package procs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// State is what a node's process is doing.
type State int

const (
	// Stopped: not running because the cluster stopped it (Kill, Replace,
	// Stop) or never started it.
	Stopped State = iota
	// Running: the process runs.
	Running
	// Paused: the process is stopped with SIGSTOP.
	Paused
	// Exited: the process ended without being asked to (a crash, or a
	// refusal to start); see Node.ExitErr and the node's log.
	Exited
)

func (s State) String() string {
	switch s {
	case Running:
		return "running"
	case Paused:
		return "paused"
	case Exited:
		return "exited"
	}
	return "stopped"
}

// Node is one member of the cluster and its process. Its exported fields do
// not change; its state does, and is read with the methods.
type Node struct {
	ID            string
	IP            string // source IP of its outgoing connections
	RaftAddr      string // Raft listens here
	RPCAddr       string // RPC listens here: clients dial it directly, never faulted
	RaftAdvertise string // proxy to RaftAddr: what the other nodes dial
	RPCAdvertise  string // proxy to RPCAddr: what the other nodes dial
	DataDir       string
	LogPath       string // stdout and stderr of every run, appended

	slot *slot
	bin  string
	base []string // flags every run gets
	boot []string // --initial-cluster or --join

	mu          sync.Mutex
	state       State
	proc        *process
	clockOffset time.Duration
	exitErr     error
	retired     bool // removed from the cluster: never started again
}

// process is one run of a node.
type process struct {
	cmd      *exec.Cmd
	done     chan struct{} // closed once the process is reaped
	err      error         // Wait's error; read after done
	stopping bool          // the cluster asked it to end; under Node.mu
}

// State reports what the node's process is doing.
func (n *Node) State() State {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state
}

// PID is the process id of the node's latest run, or 0 if it never ran.
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return 0
	}
	return n.proc.cmd.Process.Pid
}

// ExitErr is how the process ended when its state is Exited, else nil.
func (n *Node) ExitErr() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.exitErr
}

// ClockOffset is the --clock-offset the node runs (or will run) with.
func (n *Node) ClockOffset() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.clockOffset
}

// argsLocked is the command line of the next run.
func (n *Node) argsLocked() []string {
	args := append([]string{"server"}, n.base...)
	if n.clockOffset != 0 {
		args = append(args, "--clock-offset", n.clockOffset.String())
	}
	return append(args, n.boot...)
}

// start runs the node's process; reaped, it calls exited.
func (n *Node) start(track *sync.WaitGroup, exited func(*Node, error)) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == Running || n.state == Paused {
		return fmt.Errorf("procs: %s is already %s", n.ID, n.state)
	}
	if n.retired {
		return fmt.Errorf("procs: %s was removed from the cluster", n.ID)
	}
	if err := os.MkdirAll(n.DataDir, 0o755); err != nil {
		return fmt.Errorf("procs: %w", err)
	}
	log, err := os.OpenFile(n.LogPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("procs: open log of %s: %w", n.ID, err)
	}
	defer log.Close() // the child has its own descriptor
	args := n.argsLocked()
	fmt.Fprintf(log, "=== procs %s: start %s %s\n", time.Now().Format(time.RFC3339Nano), n.bin, strings.Join(args, " "))
	cmd := exec.Command(n.bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// A group of its own, so that signals reach exactly this server and
	// everything it may spawn; SIGKILL if the test process dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("procs: start %s: %w", n.ID, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	n.proc, n.state, n.exitErr = p, Running, nil
	track.Add(1)
	go func() {
		defer track.Done()
		err := cmd.Wait()
		n.mu.Lock()
		p.err = err
		unexpected := !p.stopping && n.proc == p
		if unexpected {
			n.state, n.exitErr = Exited, exitError(err)
		}
		n.mu.Unlock()
		close(p.done)
		if unexpected {
			exited(n, err)
		}
	}()
	return nil
}

// exitError never returns nil: a server that exits 0 unasked also failed.
func exitError(err error) error {
	if err == nil {
		return errors.New("exit status 0")
	}
	return err
}

// signalLocked sends sig to the process group of the node's latest run; a
// group that is already gone is no error.
func (n *Node) signalLocked(sig syscall.Signal) error {
	if err := syscall.Kill(-n.proc.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("procs: %s %s: %w", sig, n.ID, err)
	}
	return nil
}

// retire kills the node for good: a Restart racing with its removal (a
// fault stream holding it) must not bring it back onto the slot the next
// replacement takes.
func (n *Node) retire() error {
	n.mu.Lock()
	n.retired = true
	n.mu.Unlock()
	return n.kill()
}

// occupies says why n may still hold its slot's ports ("" if it cannot):
// it was not retired, so it may be started again, or its last process has
// not been reaped.
func (n *Node) occupies() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.retired {
		return "it is a member (" + n.state.String() + ")"
	}
	if n.proc != nil {
		select {
		case <-n.proc.done:
		default:
			return fmt.Sprintf("its process %d has not been reaped", n.proc.cmd.Process.Pid)
		}
	}
	return ""
}

// kill ends the process with SIGKILL and waits until it is reaped. A node
// that does not run is left as it is.
func (n *Node) kill() error {
	return n.end(syscall.SIGKILL, 0)
}

// terminate asks the process to shut down with SIGTERM (continuing it first
// if paused), and kills it if it has not ended within grace.
func (n *Node) terminate(grace time.Duration) error {
	return n.end(syscall.SIGTERM, grace)
}

func (n *Node) end(sig syscall.Signal, grace time.Duration) error {
	n.mu.Lock()
	p := n.proc
	if p == nil || (n.state != Running && n.state != Paused) {
		n.mu.Unlock()
		return nil
	}
	p.stopping = true
	err := n.signalLocked(sig)
	if sig != syscall.SIGKILL && n.state == Paused {
		err = errors.Join(err, n.signalLocked(syscall.SIGCONT))
	}
	n.mu.Unlock()
	if sig != syscall.SIGKILL {
		select {
		case <-p.done:
		case <-time.After(grace):
			n.mu.Lock()
			err = errors.Join(err, n.signalLocked(syscall.SIGKILL))
			n.mu.Unlock()
		}
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		return errors.Join(err, fmt.Errorf("procs: %s (pid %d) did not end after SIGKILL", n.ID, p.cmd.Process.Pid))
	}
	n.mu.Lock()
	if n.proc == p {
		n.state = Stopped
	}
	n.mu.Unlock()
	return err
}

// pause stops a running process with SIGSTOP and waits until it is stopped.
func (n *Node) pause() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state != Running {
		return fmt.Errorf("procs: cannot pause %s: it is %s", n.ID, n.state)
	}
	if err := n.signalLocked(syscall.SIGSTOP); err != nil {
		return err
	}
	n.state = Paused
	return waitStopped(n.proc.cmd.Process.Pid, 5*time.Second)
}

// resume continues a paused process with SIGCONT.
func (n *Node) resume() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state != Paused {
		return fmt.Errorf("procs: cannot resume %s: it is %s", n.ID, n.state)
	}
	if err := n.signalLocked(syscall.SIGCONT); err != nil {
		return err
	}
	n.state = Running
	return nil
}

// baseArgs are the flags of every run of node n.
func baseArgs(n *Node, o *Options) []string {
	args := []string{
		"--id", n.ID, "--data-dir", n.DataDir,
		"--raft-addr", n.RaftAddr, "--rpc-addr", n.RPCAddr,
		"--raft-advertise", n.RaftAdvertise, "--rpc-advertise", n.RPCAdvertise,
		"--log-level", o.LogLevel,
	}
	if o.HeartbeatTimeout > 0 {
		args = append(args, "--heartbeat-timeout", o.HeartbeatTimeout.String())
	}
	if o.ElectionTimeout > 0 {
		args = append(args, "--election-timeout", o.ElectionTimeout.String())
	}
	if o.SnapshotThreshold > 0 {
		args = append(args, "--snapshot-threshold", strconv.FormatUint(o.SnapshotThreshold, 10))
	}
	if o.TrailingLogs > 0 {
		args = append(args, "--trailing-logs", strconv.FormatUint(o.TrailingLogs, 10))
	}
	if o.SnapshotInterval > 0 {
		args = append(args, "--snapshot-interval", o.SnapshotInterval.String())
	}
	return append(args, o.ExtraArgs...)
}
