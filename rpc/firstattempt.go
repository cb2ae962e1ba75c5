package rpc

import (
	"context"

	"connectrpc.com/connect"
)

// FirstAttemptHeader marks a single Hold or Book call as the first sending
// of its idempotency key: no request with that key can have reached a node
// before. Like a BatchWrite element's first_attempt, it lets the leader
// refuse a claim of inventory that only a cancellation could free without
// writing the refusal to the log (a retry would then be applied, not
// replayed). Its value is "1". A caller that sends it on a retry only
// misleads itself: its earlier attempt may still be applied after the
// refusal. The state is never at risk.
const FirstAttemptHeader = "Bookd-First-Attempt"

// markedFirstAttempt reports whether the call being handled carries the
// first-attempt mark.
func markedFirstAttempt(ctx context.Context) bool {
	info, ok := connect.CallInfoForHandlerContext(ctx)
	return ok && info.RequestHeader().Get(FirstAttemptHeader) == "1"
}
