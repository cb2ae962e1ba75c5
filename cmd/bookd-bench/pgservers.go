package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Settings of the PostgreSQL server the bench starts. Durability is the
// default (fsync on, synchronous_commit on, full_page_writes on); only the
// connection limit and the buffer cache are raised.
const (
	// pgBinDirs is where Debian installs PostgreSQL (any version); the
	// binaries are looked up in PATH first.
	pgBinDirs = "/usr/lib/postgresql/*/bin"
	// pgUser is the system user that runs the server when the bench runs
	// as root, which PostgreSQL refuses; it is also the database superuser.
	pgUser = "postgres"
	// pgMaxConnections leaves room for a pool of several hundred clients.
	pgMaxConnections = 700
	// pgSharedBuffers holds a 50,000-seat event and its bookings in memory.
	pgSharedBuffers = "256MB"
	// pgStartTimeout bounds the wait for the server to accept connections.
	pgStartTimeout = 30 * time.Second
	// pgStopGrace is how long Stop waits after SIGINT (a fast shutdown,
	// which writes a checkpoint) before killing the server.
	pgStopGrace = 60 * time.Second
)

// pgBestPool is the pgx pool size that gave PostgreSQL its best throughput
// on the 2-core machine of BENCHMARKS.md (ga and seats at 512 clients,
// pools of 8, 16, 32 and 64 measured side by side with `bookd-bench peers
// -systems postgres -pg-pools 8,16,32,64`; ga, one hot row, does best with
// the fewest connections, seats about the same from 8 to 64): the
// default, so that bookd is compared with PostgreSQL at its best.
const pgBestPool = 8

// pgServers is a PostgreSQL server on loopback started by startPostgres.
type pgServers struct {
	proc *peerProc
	dsn  string // TCP connection string for the superuser
	logf func(string, ...any)
	// pool caps the connections of a run; 0 gives every client its own.
	pool int
}

// startPostgres creates a fresh cluster in dir/pgdata with initdb and starts
// postgres on a free port of 127.0.0.1, logging to dir/postgres.log, and
// returns once it accepts a connection. When the bench runs as root the
// server runs as the postgres user, and dir and the directories above it are
// made searchable (o+x) for that user where they are not.
func startPostgres(ctx context.Context, dir string, logf func(string, ...any)) (Servers, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	initdb, err := pgBinary("initdb")
	if err != nil {
		return nil, err
	}
	postgres, err := pgBinary("postgres")
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}

	var cred *syscall.Credential
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup(pgUser)
		if err != nil {
			return nil, fmt.Errorf("postgres: running as root needs the %s user: %w", pgUser, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := pgMakeSearchable(dir, logf); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "pgdata")
	sock := filepath.Join(dir, "pgsock")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		if cred != nil {
			if err := os.Chown(d, uid, gid); err != nil {
				return nil, fmt.Errorf("postgres: %w", err)
			}
		}
	}

	// --no-sync only skips initdb's own flush of the new files; the server
	// fsyncs as usual.
	start := time.Now()
	initLog := filepath.Join(dir, "initdb.log")
	p, err := startPeerProc("initdb", initLog, cred, syscall.SIGKILL, initdb,
		"-D", data, "-U", pgUser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		p.stop(syscall.SIGKILL, time.Second)
		return nil, fmt.Errorf("postgres: initdb: %w", ctx.Err())
	}
	if p.err != nil {
		return nil, fmt.Errorf("postgres: initdb %s: %v; log ends:\n%s", data, p.err, p.logTail())
	}
	logf("postgres: initdb took %v", time.Since(start).Round(time.Millisecond))

	ports, err := peerFreePorts(1)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// A Unix socket path is limited to 107 bytes; in a deeper directory the
	// server gets none, as clients here use TCP anyway.
	if len(sock)+len("/.s.PGSQL.65535") > 107 {
		sock = ""
	}
	// SIGQUIT is PostgreSQL's immediate shutdown: if the bench dies, the
	// postmaster takes its backends down with it.
	proc, err := startPeerProc("postgres", filepath.Join(dir, "postgres.log"), cred, syscall.SIGQUIT, postgres,
		"-D", data,
		"-k", sock,
		"-p", strconv.Itoa(ports[0]),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections="+strconv.Itoa(pgMaxConnections),
		"-c", "shared_buffers="+pgSharedBuffers,
	)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &pgServers{
		proc: proc,
		logf: logf,
		dsn:  fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", pgUser, ports[0]),
	}
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	logf("postgres: accepting connections at 127.0.0.1:%d after %v", ports[0], time.Since(start).Round(time.Millisecond))
	return s, nil
}

// pgBinary finds a PostgreSQL program in PATH or in pgBinDirs (the newest
// version there, as globbing sorts them).
func pgBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	found, _ := filepath.Glob(filepath.Join(pgBinDirs, name))
	if len(found) == 0 {
		return "", fmt.Errorf("postgres: %s not found in PATH nor in %s", name, pgBinDirs)
	}
	return found[len(found)-1], nil
}

// pgMakeSearchable adds search permission for others to dir and each
// directory above it that lacks it, so that the postgres user can reach its
// data directory inside a root-owned 0700 temporary directory.
func pgMakeSearchable(dir string, logf func(string, ...any)) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("postgres: let user %s reach %s: %w", pgUser, dir, err)
			}
			logf("postgres: added o+x to %s so user %s can reach its data", d, pgUser)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// waitReady connects until a connection succeeds, the server exits, or
// pgStartTimeout passes.
func (s *pgServers) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pgStartTimeout)
	defer cancel()
	for {
		if s.proc.exited() {
			return fmt.Errorf("postgres: server exited during start-up (%v); log ends:\n%s", s.proc.exitErr(), s.proc.logTail())
		}
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(cctx, s.dsn)
		if err == nil {
			err = conn.Ping(cctx)
			conn.Close(cctx)
		}
		ccancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres: no connection within %v: %w; log ends:\n%s", pgStartTimeout, err, s.proc.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Connect opens a PostgreSQL Target with a pool of clients connections,
// all established before it returns.
func (s *pgServers) Connect(ctx context.Context, clients int) (Target, error) {
	if s.pool > 0 {
		clients = min(clients, s.pool)
	}
	return openPostgresTarget(ctx, s.dsn, clients)
}

// PIDs is the postmaster; the backends are its children.
func (s *pgServers) PIDs() []int { return []int{s.proc.cmd.Process.Pid} }

// Stop asks for a fast shutdown (SIGINT: sessions end, a checkpoint is
// written) and waits for it, killing the server after pgStopGrace.
func (s *pgServers) Stop() error {
	start := time.Now()
	if err := s.proc.stop(syscall.SIGINT, pgStopGrace); err != nil {
		return fmt.Errorf("postgres: stop: %w", err)
	}
	s.logf("postgres: stopped in %v", time.Since(start).Round(time.Millisecond))
	return nil
}
