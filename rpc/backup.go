package rpc

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// backupChunkBytes is the most data one BackupChunk carries.
const backupChunkBytes = 256 << 10

// Backup streams the leader's state after a read barrier, so the copy
// holds every write acknowledged before the call.
func (h *ClusterHandler) Backup(ctx context.Context, _ *bookdv1.BackupRequest, stream *connect.ServerStream[bookdv1.BackupChunk]) error {
	if !h.s.node.IsLeader() {
		id, addr := h.s.node.Leader()
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("backups are taken on the leader; ask %s at %s", id, addr))
	}
	if err := h.s.node.ReadBarrier(ctx); err != nil {
		return toConnect(err)
	}
	w := &chunkWriter{stream: stream}
	applied, err := h.s.node.FSM().WriteBackup(w)
	if err == nil {
		w.applied = applied
		err = w.flush()
	}
	if err != nil {
		var ce *connect.Error
		if errors.As(err, &ce) {
			return ce
		}
		return connect.NewError(connect.CodeInternal, err)
	}
	return nil
}

// chunkWriter sends what it is given in chunks of backupChunkBytes.
type chunkWriter struct {
	stream  *connect.ServerStream[bookdv1.BackupChunk]
	buf     []byte
	applied uint64 // sent on the last chunk
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for len(w.buf) >= backupChunkBytes {
		if err := w.send(w.buf[:backupChunkBytes]); err != nil {
			return 0, err
		}
		w.buf = w.buf[backupChunkBytes:]
	}
	return len(p), nil
}

func (w *chunkWriter) flush() error {
	if err := w.send(w.buf); err != nil {
		return err
	}
	// The applied index travels on a last, empty chunk (the first chunks
	// leave before the view's index is known to this writer).
	return w.stream.Send(&bookdv1.BackupChunk{AppliedIndex: w.applied})
}

func (w *chunkWriter) send(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return w.stream.Send(&bookdv1.BackupChunk{Data: append([]byte(nil), b...)})
}
