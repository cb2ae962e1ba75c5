package raftnode

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/bookd/bookd/fsm"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// These work on a stopped node's data directory: seeding a new cluster from
// a backup, and rebuilding the configuration after a majority is lost.

// offlineStores are a data directory's Raft log, snapshots and state machine.
type offlineStores struct {
	fsm   *fsm.FSM
	store *raftboltdb.BoltStore
	snaps *raft.FileSnapshotStore
}

func openOffline(dataDir string, logger *slog.Logger) (*offlineStores, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("raftnode: create data dir: %w", err)
	}
	s := &offlineStores{}
	var err error
	if s.fsm, err = fsm.Open(filepath.Join(dataDir, "fsm"), logger); err != nil {
		return nil, err
	}
	if s.store, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dataDir, "raft.db")}); err != nil {
		s.fsm.Close()
		return nil, fmt.Errorf("raftnode: open log store (is the node still running?): %w", err)
	}
	// The snapshot store's progress lines say nothing a command needs; its
	// errors come back as errors.
	if s.snaps, err = raft.NewFileSnapshotStore(dataDir, 2, io.Discard); err != nil {
		s.close()
		return nil, fmt.Errorf("raftnode: open snapshot store: %w", err)
	}
	return s, nil
}

func (s *offlineStores) close() error {
	return errors.Join(s.store.Close(), s.fsm.Close())
}

func configuration(peers []Peer) (raft.Configuration, error) {
	if len(peers) == 0 {
		return raft.Configuration{}, errors.New("raftnode: no members given")
	}
	var c raft.Configuration
	for _, p := range peers {
		if err := checkRoutable("raft address of "+p.ID, p.RaftAddr); err != nil {
			return c, err
		}
		c.Servers = append(c.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: serverAddress(p.ID, p.RaftAddr)})
	}
	return c, nil
}

// SeedFromBackup prepares the empty data directory of a new cluster's
// member: it loads the backup into the state machine (which checks it),
// drops the old cluster's member records, and writes the state as a Raft
// snapshot whose configuration is peers. Every member of
// the new cluster is seeded from the same backup with the same peers, then
// started without --initial-cluster or --join. It returns the Raft index
// the backup is at.
func SeedFromBackup(dataDir string, backup io.Reader, peers []Peer, logger *slog.Logger) (uint64, error) {
	conf, err := configuration(peers)
	if err != nil {
		return 0, err
	}
	s, err := openOffline(dataDir, logger)
	if err != nil {
		return 0, err
	}
	defer s.close()
	if existing, err := raft.HasExistingState(s.store, s.store, s.snaps); err != nil || existing {
		return 0, errors.Join(err, fmt.Errorf("raftnode: %s already holds Raft state; seed an empty directory", dataDir))
	}
	if err := s.fsm.Restore(io.NopCloser(backup)); err != nil {
		return 0, fmt.Errorf("raftnode: backup does not load: %w", err)
	}
	applied := s.fsm.AppliedIndex()
	if applied == 0 {
		return 0, errors.New("raftnode: the backup holds no state")
	}
	// The backup's member records are the old cluster's RPC addresses.
	if err := s.fsm.ForgetMembers(); err != nil {
		return 0, fmt.Errorf("raftnode: forget the old cluster's members: %w", err)
	}
	_, trans := raft.NewInmemTransport("")
	sink, err := s.snaps.Create(raft.SnapshotVersionMax, applied, 1, conf, applied, trans)
	if err != nil {
		return 0, fmt.Errorf("raftnode: create snapshot: %w", err)
	}
	snap, err := s.fsm.Snapshot()
	if err != nil {
		sink.Cancel()
		return 0, err
	}
	defer snap.Release()
	if err := snap.Persist(sink); err != nil { // closes or cancels sink
		return 0, fmt.Errorf("raftnode: write snapshot: %w", err)
	}
	return applied, nil
}

// RecoverCluster rewrites the Raft configuration of the stopped node id in
// dataDir to peers, for when a majority of the cluster is lost for good
// (like Consul's peers.json). Run it on every survivor with the same peers
// (the survivors), then start them as before. Entries in a survivor's log
// that were never committed may get committed by the recovered cluster:
// recover from the most up-to-date survivor when in doubt, and add new
// members to it, rather than recovering several that disagree.
func RecoverCluster(id, dataDir string, peers []Peer, logger *slog.Logger) error {
	conf, err := configuration(peers)
	if err != nil {
		return err
	}
	s, err := openOffline(dataDir, logger)
	if err != nil {
		return err
	}
	defer s.close()
	if existing, err := raft.HasExistingState(s.store, s.store, s.snaps); err != nil || !existing {
		return errors.Join(err, fmt.Errorf("raftnode: %s holds no Raft state to recover", dataDir))
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(id)
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: raftLogWriter(logger)})
	_, trans := raft.NewInmemTransport("")
	if err := raft.RecoverCluster(rc, releasingFSM{s.fsm}, s.store, s.store, s.snaps, trans, conf); err != nil {
		return fmt.Errorf("raftnode: recover: %w", err)
	}
	return nil
}

// releasingFSM releases each snapshot once persisted: raft.RecoverCluster
// never calls Release, and an unreleased snapshot of the FSM keeps its
// store from closing.
type releasingFSM struct{ *fsm.FSM }

func (f releasingFSM) Snapshot() (raft.FSMSnapshot, error) {
	s, err := f.FSM.Snapshot()
	if err != nil {
		return nil, err
	}
	return releaseAfterPersist{s}, nil
}

type releaseAfterPersist struct{ raft.FSMSnapshot }

func (s releaseAfterPersist) Persist(sink raft.SnapshotSink) error {
	defer s.FSMSnapshot.Release()
	return s.FSMSnapshot.Persist(sink)
}

func (releaseAfterPersist) Release() {} // Persist did
