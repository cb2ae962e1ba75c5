package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/cmd/bookd-chaos/history"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// nodeClients keeps one Connect client per node address. Calls go to a
// chosen node, never following the leader: followers forward, which puts
// the forwarding path under the same faults.
type nodeClients struct {
	http *http.Client
	mu   sync.Mutex
	byAd map[string]bookdv1connect.BookingServiceClient
}

func newNodeClients() *nodeClients {
	t := &http.Transport{
		Protocols:           new(http.Protocols),
		DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
		MaxIdleConnsPerHost: 32,
	}
	t.Protocols.SetUnencryptedHTTP2(true)
	return &nodeClients{http: &http.Client{Transport: t}, byAd: map[string]bookdv1connect.BookingServiceClient{}}
}

func (n *nodeClients) booking(addr string) bookdv1connect.BookingServiceClient {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.byAd[addr]
	if !ok {
		c = bookdv1connect.NewBookingServiceClient(n.http, "http://"+addr)
		n.byAd[addr] = c
	}
	return c
}

// answer classifies a call's error: definite answers, and answers that
// leave the outcome unknown (the call may still take effect).
type answer int

const (
	answerOK answer = iota
	answerRefused
	answerAmbiguous
	answerUnexpected
)

func classify(err error) (answer, string) {
	if err == nil {
		return answerOK, ""
	}
	// No bookd node answered (a broken connection, an HTTP error from
	// something in between): the outcome is unknown.
	if ce := new(connect.Error); errors.As(err, &ce) && !connect.IsWireError(ce) {
		return answerAmbiguous, ""
	}
	switch connect.CodeOf(err) {
	case connect.CodeFailedPrecondition:
		switch r := client.Reason(err); r {
		case client.ReasonSeatTaken, client.ReasonSoldOut:
			return answerRefused, history.ReasonTaken
		case client.ReasonHoldExpired, client.ReasonHoldReleased, client.ReasonHoldConfirmed, client.ReasonBookingCancelled:
			return answerRefused, r
		}
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeCanceled, connect.CodeUnknown, connect.CodeAborted:
		return answerAmbiguous, ""
	}
	return answerUnexpected, ""
}

// mutation is one logical write: the same request (with the same
// idempotency key) is sent until a node gives a definite answer.
type mutation func(ctx context.Context, c bookdv1connect.BookingServiceClient) (history.Output, error)

// attempt sends m to nodes (first home, then others) until a definite
// answer or until budget runs out. ok is false when the outcome is unknown.
func attempt(ctx context.Context, nc *nodeClients, rnd *rand.Rand, nodes []string, home int, budget time.Duration, m mutation) (out history.Output, ok bool, err error) {
	deadline := time.Now().Add(budget)
	for try := 0; ctx.Err() == nil && time.Now().Before(deadline); try++ {
		addr := nodes[(home+try)%len(nodes)]
		cctx, cancel := context.WithTimeout(ctx, min(time.Second, time.Until(deadline)+time.Millisecond))
		out, err := m(cctx, nc.booking(addr))
		cancel()
		switch a, reason := classify(err); a {
		case answerOK:
			out.Result = history.OK
			return out, true, nil
		case answerRefused:
			return history.Output{Result: history.Refused, Reason: reason}, true, nil
		case answerUnexpected:
			return history.Output{}, false, err
		}
		sleep(ctx, time.Duration(20+rnd.IntN(60))*time.Millisecond)
	}
	return history.Output{Result: history.Unknown}, false, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
