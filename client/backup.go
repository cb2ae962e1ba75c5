package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Backup writes a consistent copy of the cluster's whole state to w and
// returns the Raft index it is at. The leader takes it after every write
// acknowledged before the call, so the copy holds them all. Backup asks
// the leader directly; it does not retry, since part of the copy may
// already be written to w.
func (c *Client) Backup(ctx context.Context, w io.Writer) (uint64, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return 0, err
	}
	if st.LeaderRpcAddress == "" {
		return 0, errors.New("client: backup: no leader known")
	}
	base, err := parseEndpoint(c.cfg.withScheme(st.LeaderRpcAddress))
	if err != nil {
		return 0, fmt.Errorf("client: leader address %q: %w", st.LeaderRpcAddress, err)
	}
	stream, err := c.conn(base).ClusterServiceClient.Backup(ctx, &bookdv1.BackupRequest{})
	if err != nil {
		return 0, err
	}
	defer stream.Close()
	var applied uint64
	for stream.Receive() {
		msg := stream.Msg()
		if _, err := w.Write(msg.Data); err != nil {
			return 0, fmt.Errorf("client: backup: %w", err)
		}
		if msg.AppliedIndex != 0 {
			applied = msg.AppliedIndex
		}
	}
	if err := stream.Err(); err != nil {
		return 0, err
	}
	if applied == 0 {
		return 0, errors.New("client: backup: the stream ended before its last chunk")
	}
	return applied, nil
}
