package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"
)

// queueFlags are the flags of `bookd queues create`.
type queueFlags struct {
	kinds       string
	event       string
	product     string
	maxAttempts int32
	retryDelay  string
	retention   string
	orderedBy   string
}

func (f *queueFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.kinds, "kinds", "", "change kinds that become messages, comma-separated ("+strings.Join(fsm.QueueKinds, ", ")+"); none: only messages put by Enqueue")
	fs.StringVar(&f.event, "event", "", "only changes of this event")
	fs.StringVar(&f.product, "product", "", "only changes of this product's events")
	fs.Int32Var(&f.maxAttempts, "max-attempts", 0, fmt.Sprintf("deliveries before a message is dead-lettered, 1 to %d (default %d)", fsm.MaxAttemptsLimit, fsm.DefaultMaxAttempts))
	fs.StringVar(&f.retryDelay, "retry-delay", "", fmt.Sprintf("delay before a message comes back: MIN..MAX, doubling per attempt, or one fixed DELAY (default %s..%s)",
		shortDuration(fsm.DefaultRetryMin), shortDuration(fsm.DefaultRetryMax)))
	fs.StringVar(&f.retention, "retention", "", fmt.Sprintf("drop messages and dead letters older than this, like 7d or 36h (%s to %s; default %s)",
		shortDuration(fsm.MinRetention), shortDuration(fsm.MaxRetention), shortDuration(fsm.DefaultRetention)))
	fs.StringVar(&f.orderedBy, "ordered-by", "", "booking: hand out a booking's messages one at a time, in commit order")
	cmd.MarkFlagsMutuallyExclusive("event", "product")
}

// request builds the CreateQueueRequest, checked as the cluster checks it,
// with any mistake named by its flag.
func (f *queueFlags) request(name, key string) (*bookdv1.CreateQueueRequest, error) {
	q := &bookdv1.Queue{Name: name, Kinds: splitList(f.kinds), EventId: f.event, ProductId: f.product, MaxAttempts: f.maxAttempts}
	if f.kinds != "" && len(q.Kinds) != len(strings.Split(f.kinds, ",")) {
		return nil, usagef("--kinds %q: an item is empty (two commas in a row, or one at an end)", f.kinds)
	}
	if f.retryDelay != "" {
		lo, hi, found := strings.Cut(f.retryDelay, "..")
		if !found {
			hi = lo
		}
		first, err := parseLongDuration("--retry-delay", lo)
		if err != nil {
			return nil, err
		}
		last, err := parseLongDuration("--retry-delay", hi)
		if err != nil {
			return nil, err
		}
		q.RetryMin, q.RetryMax = durationpb.New(first), durationpb.New(last)
	}
	if f.retention != "" {
		d, err := parseLongDuration("--retention", f.retention)
		if err != nil {
			return nil, err
		}
		q.Retention = durationpb.New(d)
	}
	switch f.orderedBy {
	case "", "none":
	case "booking":
		q.Ordering = bookdv1.QueueOrdering_QUEUE_ORDERING_BY_BOOKING
	default:
		return nil, usagef("--ordered-by: %q is not an ordering (booking, or none)", f.orderedBy)
	}
	req := &bookdv1.CreateQueueRequest{Queue: q, IdempotencyKey: key}
	if err := fsm.ValidateCreateQueue(req); err != nil {
		return nil, usagef("%s", flagNamed(err.Message))
	}
	return req, nil
}

// queueFlagOf names the flag (or argument) of each field of a CreateQueueRequest.
var queueFlagOf = map[string]string{
	"queue.name":         "NAME",
	"queue.kinds":        "--kinds",
	"queue.event_id":     "--event",
	"queue.product_id":   "--product",
	"queue.max_attempts": "--max-attempts",
	"queue.retry_min":    "--retry-delay (MIN)",
	"queue.retry_max":    "--retry-delay (MAX)",
	"queue.retention":    "--retention",
	"idempotency_key":    "--idempotency-key",
}

// flagNamed rewrites a refusal "queue.kinds[1]: ..." as "--kinds item 2: ...".
func flagNamed(msg string) string {
	field, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return msg
	}
	path, index, indexed := strings.Cut(strings.TrimSuffix(field, "]"), "[")
	flag, known := queueFlagOf[path]
	if !known {
		return msg
	}
	if n, err := strconv.Atoi(index); indexed && err == nil {
		flag += fmt.Sprintf(" item %d", n+1)
	}
	return flag + ": " + rest
}

// parseLongDuration reads a Go duration that may start with days: 7d,
// 1d12h, 90m, 10s.
func parseLongDuration(flag, s string) (time.Duration, error) {
	bad := usagef("%s: %q is not a duration like 10s, 10m, 36h or 7d", flag, s)
	s = strings.TrimSpace(s)
	var days time.Duration
	if d, rest, found := strings.Cut(s, "d"); found {
		n, err := strconv.ParseUint(d, 10, 16)
		if err != nil {
			return 0, bad
		}
		days, s = time.Duration(n)*24*time.Hour, rest
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, bad
	}
	return days + d, nil
}

// shortDuration shows a duration without zero units: 10m, 1h30m, 7d.
func shortDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
