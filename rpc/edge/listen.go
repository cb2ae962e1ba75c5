package edge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Running is an edge serving HTTP on a socket.
type Running struct {
	http *http.Server
	addr string
	done chan error

	closeOnce sync.Once
	closeErr  error
}

// Start serves h on addr (HTTP/1.1 and cleartext HTTP/2) until Close.
func Start(addr string, h http.Handler) (*Running, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("edge: listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		Protocols:         new(http.Protocols),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	// A surge arrives over few connections (a load balancer's, a load
	// generator's): allow many calls on each, so a hold that will be
	// refused is not kept waiting for a stream behind slow ones.
	srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 4096}
	r := &Running{http: srv, addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		r.done <- err
	}()
	return r, nil
}

// Addr is the address the edge listens on ("host:port").
func (r *Running) Addr() string { return r.addr }

// URL is the page's address.
func (r *Running) URL() string { return "http://" + r.addr + "/" }

// Close stops serving, letting calls in flight finish for a few seconds.
// Later calls return the first one's result.
func (r *Running) Close() error {
	r.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := r.http.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = r.http.Close()
		}
		r.closeErr = errors.Join(err, <-r.done)
	})
	return r.closeErr
}
