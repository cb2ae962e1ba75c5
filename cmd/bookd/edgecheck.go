package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// How long `bookd edge` spends, at start, looking at its cluster: on the
// whole check, and on one node's TLS handshake.
const (
	edgeCheckTimeout = 3 * time.Second
	edgeDialTimeout  = time.Second
)

// checkEdgeCredentials makes sure, before the edge serves anyone, that its
// flags fit the cluster at --endpoints: that it speaks TLS to the nodes
// exactly when they serve it and trusts their certificates, and that its
// token has a role that may hold and book. A misfit is an error that names
// the flag to give or fix: exit 7 (credentials), or 2 for a --ca-file given
// to nodes without TLS. A cluster that does not answer is only logged: an
// edge may start before its cluster.
func checkEdgeCredentials(ctx context.Context, g *globals, cl *client.Client, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, edgeCheckTimeout)
	defer cancel()
	if err := checkEdgeTLS(ctx, g); err != nil {
		return err
	}
	// Releasing no hold needs the booker role, and a node that let the
	// caller through refuses the empty request as INVALID_ARGUMENT without
	// writing anything or asking the leader.
	_, err := cl.ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{})
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || !connect.IsWireError(ce) {
		logger.Warn("no node answered: starting without checking --token and --ca-file against the cluster",
			"endpoints", g.endpoints, "err", err)
		return nil
	}
	switch ce.Code() {
	case connect.CodeUnauthenticated:
		if g.token == "" {
			return edgeRefusal(connect.CodeUnauthenticated, "the nodes at %s check tokens: give --token (or BOOKD_TOKEN) with a booker token", g.endpoints)
		}
		return edgeRefusal(connect.CodeUnauthenticated, "the nodes at %s refused --token (%s): give a booker token from their tokens file", g.endpoints, ce.Message())
	case connect.CodePermissionDenied:
		return edgeRefusal(connect.CodePermissionDenied, "the role of --token may not hold or book (%s): give a booker token", ce.Message())
	}
	return nil
}

// edgeRefusal is the credentials check's error: code makes it exit 7.
func edgeRefusal(code connect.Code, format string, args ...any) error {
	return connect.NewError(code, fmt.Errorf("refusing to start the edge: "+format, args...))
}

// handshake is what a node answered to a TLS ClientHello.
type handshake int

const (
	noAnswer     handshake = iota // unreachable, or no answer in time
	servesTLS                     // a certificate the client trusts
	untrustedTLS                  // a certificate the client does not trust
	servesPlain                   // something that is not TLS
)

// checkEdgeTLS shakes hands with every node at --endpoints, with the TLS
// settings the edge's client has, and refuses settings that do not fit
// what a node serves. Nodes that do not answer are passed over.
func checkEdgeTLS(ctx context.Context, g *globals) error {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if g.caFile != "" {
		var err error
		if cfg, err = clientTLS(g.caFile); err != nil {
			return err
		}
	}
	for _, ep := range splitList(g.endpoints) {
		scheme, addr, ok := strings.Cut(ep, "://")
		if !ok {
			scheme, addr = "", ep
		}
		addr = strings.TrimSuffix(addr, "/")
		// As the client does: bare endpoints are TLS exactly under --ca-file.
		speaksTLS := scheme == "https" || (scheme == "" && g.caFile != "")
		got, err := shakeHands(ctx, addr, cfg)
		switch {
		case got == noAnswer:
		case got == servesPlain && speaksTLS:
			if scheme == "https" {
				return usagef("refusing to start the edge: the node at %s does not serve TLS: give its endpoint without https://", addr)
			}
			return usagef("refusing to start the edge: the node at %s does not serve TLS: drop --ca-file", addr)
		case got != servesPlain && !speaksTLS:
			if scheme == "http" {
				return edgeRefusal(connect.CodeUnauthenticated, "the node at %s serves TLS: give its endpoint without http://, and --ca-file (or BOOKD_CA_FILE) with the CA certificate that signed the nodes' certificates", addr)
			}
			return edgeRefusal(connect.CodeUnauthenticated, "the node at %s serves TLS: give --ca-file (or BOOKD_CA_FILE) with the CA certificate that signed the nodes' certificates", addr)
		case got == untrustedTLS && g.caFile == "":
			return edgeRefusal(connect.CodeUnauthenticated, "the node at %s serves a certificate the system does not trust (%v): give --ca-file (or BOOKD_CA_FILE) with the CA certificate that signed it", addr, err)
		case got == untrustedTLS:
			return edgeRefusal(connect.CodeUnauthenticated, "--ca-file %s does not trust the certificate of the node at %s (%v): give the CA certificate that signed the nodes' certificates", g.caFile, addr, err)
		}
	}
	return nil
}

// shakeHands opens a TLS connection to addr with cfg and closes it at once,
// and says what the node answered, with the handshake's error.
func shakeHands(ctx context.Context, addr string, cfg *tls.Config) (handshake, error) {
	ctx, cancel := context.WithTimeout(ctx, edgeDialTimeout)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", addr)
	if err == nil {
		conn.Close()
		return servesTLS, nil
	}
	var bad *tls.CertificateVerificationError
	var plain tls.RecordHeaderError
	switch {
	case errors.As(err, &bad):
		return untrustedTLS, err
	case errors.As(err, &plain):
		return servesPlain, err
	}
	return noAnswer, err
}
