package main

import (
	"fmt"
	"os"
	"strings"
)

// The ways the load generator can call bookd, each a column of `peers`.
const (
	modeConnect = "connect" // plain connect-go, one Book per call, round-robin over the nodes
	modeClient  = "client"  // the client package as client.New makes it
	modeBatch   = "batch"   // the client package with client.WithBatching
	modeEdge    = "edge"    // through `bookd edge` as shipped: hold, then confirm
)

var bookdModes = []string{modeConnect, modeClient, modeBatch, modeEdge}

// bookdMode makes srv, a bookd cluster the bench started, the servers of
// mode, and says what the mode is in the table's words. batch is the
// batch mode's client.WithBatching.
func bookdMode(srv *bookdServers, mode string, batch int) (Servers, string, error) {
	switch mode {
	case modeConnect:
		srv.opts.Connect = true
		return srv, "bookd, connect-go, one Book per call, round-robin", nil
	case modeClient:
		srv.opts.Batch = 0
		return srv, "bookd, `client` default", nil
	case modeBatch:
		if batch < 1 {
			return nil, "", fmt.Errorf("-modes batch needs -batch of at least 1")
		}
		srv.opts.Batch = batch
		return srv, fmt.Sprintf("bookd, `client` + `WithBatching(%d)`", batch), nil
	case modeEdge:
		edged, err := withEdge(srv, shippedEdgeOptions(os.Stderr))
		return edged, "bookd, `bookd edge` as shipped (hold, then confirm)", err
	}
	return nil, "", fmt.Errorf("-modes: unknown mode %q, want some of %s", mode, strings.Join(bookdModes, ","))
}

// modeSkips reports the workloads a mode cannot run: an edge serves no
// linearizable reads.
func modeSkips(mode, workload string) bool {
	return mode == modeEdge && workload == workloadBrowseLinear
}
