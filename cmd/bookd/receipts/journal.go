package receipts

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Journal is a file of the message keys whose receipt an SMTP server
// accepted, one a line, each appended and fsynced before the message is
// acked. A worker skips (acks) a key already in it, so a message delivered
// again (its ack was lost, its lease lapsed) sends no second receipt.
//
// What it cannot cover: a worker killed after the server's 250 and before
// the fsync sends that receipt again when the message comes back, as does
// one whose connection broke after the server took the message but before
// its 250 arrived. Those duplicates carry the same Message-ID, so a mailbox
// that de-duplicates by Message-ID shows one. A journal is one worker's:
// workers on several machines each need their own file, and a message that
// moves from a killed worker to another is not in the other's journal.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	keys map[string]struct{}
}

// OpenJournal opens (or creates) the journal at path and reads its keys.
// A last line without its newline, left by a crash in the middle of a
// write, was never fsynced whole: it is cut off.
func OpenJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("receipts: open journal: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("receipts: read journal %s: %w", path, err)
	}
	whole := bytes.LastIndexByte(data, '\n') + 1
	if whole < len(data) {
		if err := f.Truncate(int64(whole)); err != nil {
			f.Close()
			return nil, fmt.Errorf("receipts: cut the torn end of journal %s: %w", path, err)
		}
	}
	if _, err := f.Seek(int64(whole), io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("receipts: journal %s: %w", path, err)
	}
	j := &Journal{f: f, keys: make(map[string]struct{})}
	sc := bufio.NewScanner(bytes.NewReader(data[:whole]))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if k := sc.Text(); k != "" {
			j.keys[k] = struct{}{}
		}
	}
	return j, nil
}

// Has reports whether key's receipt was accepted by the server.
func (j *Journal) Has(key string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.keys[key]
	return ok
}

// Len is the number of keys in the journal.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.keys)
}

// Add appends key and fsyncs the file.
func (j *Journal) Add(key string) error {
	if key == "" || strings.ContainsAny(key, "\r\n") {
		return fmt.Errorf("receipts: journal: key %q cannot be kept on a line", key)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.keys[key]; ok {
		return nil
	}
	if _, err := j.f.WriteString(key + "\n"); err != nil {
		return fmt.Errorf("receipts: journal %s: %w", j.f.Name(), err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("receipts: journal %s: fsync: %w", j.f.Name(), err)
	}
	j.keys[key] = struct{}{}
	return nil
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }
