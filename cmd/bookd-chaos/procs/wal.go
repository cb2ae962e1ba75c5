package procs

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TruncatePebbleWAL tears the last write of node id's state machine store,
// as a power cut would: it cuts between 1 and all of the bytes of the newest
// Pebble WAL file (<DataDir>/fsm/state/NNNNNN.log) and returns how many. The
// store's writes are not fsynced, so any tail of the WAL may be lost. The
// node must not run (Kill it first). A newest WAL that is empty is left
// alone and 0 returned.
func (c *Cluster) TruncatePebbleWAL(id string, rnd *rand.Rand) (int64, error) {
	n, err := c.Node(id)
	if err != nil {
		return 0, err
	}
	if st := n.State(); st == Running || st == Paused {
		return 0, fmt.Errorf("procs: truncate the WAL of %s: it is %s; kill it first", id, st)
	}
	path, err := newestWAL(filepath.Join(n.DataDir, "fsm", "state"))
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("procs: %w", err)
	}
	if fi.Size() == 0 {
		return 0, nil
	}
	cut := 1 + rnd.Int64N(fi.Size())
	if err := os.Truncate(path, fi.Size()-cut); err != nil {
		return 0, fmt.Errorf("procs: %w", err)
	}
	c.log.Info("truncated pebble WAL", "node", id, "file", path, "size", fi.Size(), "cut", cut)
	return cut, nil
}

// newestWAL finds the Pebble WAL with the highest log number in dir. Pebble
// names WAL files NNNNNN.log (and NNNNNN-SSS.log for the segments of a WAL
// that failed over, which sort after their log's first file).
func newestWAL(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("procs: read pebble dir: %w", err)
	}
	var best string
	var bestNum, bestSeg uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || e.IsDir() {
			continue
		}
		numPart, segPart, hasSeg := strings.Cut(name, "-")
		num, err := strconv.ParseUint(numPart, 10, 64)
		if err != nil {
			continue
		}
		var seg uint64
		if hasSeg {
			if seg, err = strconv.ParseUint(segPart, 10, 64); err != nil {
				continue
			}
		}
		if best == "" || num > bestNum || (num == bestNum && seg > bestSeg) {
			best, bestNum, bestSeg = e.Name(), num, seg
		}
	}
	if best == "" {
		return "", fmt.Errorf("procs: no Pebble WAL (*.log) in %s", dir)
	}
	return filepath.Join(dir, best), nil
}
