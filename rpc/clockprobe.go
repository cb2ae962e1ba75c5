package rpc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/raftnode"
)

// ClockHeader is set on every response to the answering node's clock, in
// Unix nanoseconds (its --clock-offset included). Nodes measure their clock
// offsets from each other by it.
const ClockHeader = "Bookd-Clock"

// clockProbeInterval is how often a node measures the other members' clocks.
const clockProbeInterval = time.Second

// probeClocks measures the other members' clocks every clockProbeInterval
// until the server stops, and hands the measurements to the node, which
// judges its own clock by them (see raftnode.ClockStatus).
// It measures at once when it starts (so that a node elected right after
// it restarts already knows where its clock stands) and whenever the node
// asks.
func (s *Server) probeClocks() {
	defer s.tasks.Done()
	asked := s.node.ClockProbeRequests()
	tick := time.NewTicker(clockProbeInterval)
	defer tick.Stop()
	for {
		s.probeClocksOnce()
		select {
		case <-s.stop:
			return
		case <-tick.C:
		case <-asked:
		}
	}
}

// probeClocksOnce measures every other member with a registered RPC
// address at once.
func (s *Server) probeClocksOnce() {
	st, err := s.node.Status()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), clockProbeInterval)
	defer cancel()
	var (
		mu      sync.Mutex
		samples []raftnode.ClockSample
		wg      sync.WaitGroup
	)
	for _, m := range st.Members {
		if m.ID == st.NodeID || m.RPCAddr == "" {
			continue
		}
		wg.Go(func() {
			sample, err := probeClock(ctx, s.svc.peers, s.node, m.RPCAddr)
			if err != nil {
				s.log.Debug("measure a member's clock", "member", m.ID, "err", err)
				return
			}
			sample.Peer = m.ID
			mu.Lock()
			samples = append(samples, sample)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(samples) > 0 {
		s.node.ObserveClocks(samples...)
	}
}

// probeClock reads the clock of the node at addr from the ClockHeader of
// its gRPC health check: a call every node answers, without a token,
// that touches neither Raft nor the state.
func probeClock(ctx context.Context, p *peers, node *raftnode.Node, addr string) (raftnode.ClockSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.scheme+addr+"/grpc.health.v1.Health/Check", strings.NewReader("{}"))
	if err != nil {
		return raftnode.ClockSample{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	sent := node.Now()
	resp, err := p.http.Do(req)
	if err != nil {
		return raftnode.ClockSample{}, err
	}
	received := time.Now()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	resp.Body.Close()
	v := resp.Header.Get(ClockHeader)
	if v == "" {
		return raftnode.ClockSample{}, fmt.Errorf("no %s header in the answer (HTTP %d)", ClockHeader, resp.StatusCode)
	}
	peerClock, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return raftnode.ClockSample{}, fmt.Errorf("%s header %q: %v", ClockHeader, v, err)
	}
	return raftnode.ClockSample{PeerClock: peerClock, Sent: sent, RTT: received.Sub(start), Received: received}, nil
}

// statusWithClock answers GetStatus with this node's clock measurement.
type statusWithClock struct{ *ClusterHandler }

func (h statusWithClock) GetStatus(ctx context.Context, req *bookdv1.GetStatusRequest) (*bookdv1.GetStatusResponse, error) {
	resp, err := h.ClusterHandler.GetStatus(ctx, req)
	if err != nil {
		return nil, err
	}
	resp.Clock = clockStatusProto(h.s.node.ClockStatus())
	return resp, nil
}

func clockStatusProto(st raftnode.ClockStatus) *bookdv1.ClockStatus {
	return &bookdv1.ClockStatus{
		OffsetMs:        st.Offset.Milliseconds(),
		UncertaintyMs:   st.Uncertainty.Milliseconds(),
		MaxOffsetMs:     st.MaxOffset.Milliseconds(),
		MembersMeasured: int32(st.Measured),
		MembersNeeded:   int32(st.Needed),
		Problem:         st.Problem,
		Handoffs:        st.Handoffs,
		Guarded:         st.Guard,
	}
}
