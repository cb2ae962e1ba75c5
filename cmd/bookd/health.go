package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
)

// healthLimits are when `cluster status` calls a member unhealthy, and a
// work queue behind.
type healthLimits struct {
	maxLag      uint64        // leader's commit index minus the member's applied index
	maxContact  time.Duration // since the member last heard from the leader
	maxQueueAge time.Duration // of a queue's oldest message
}

// memberHealth is one member as it reports itself. Its JSON (-o json) is
// in the style of the API's (protojson): lowerCamelCase names, 64-bit
// integers as strings.
type memberHealth struct {
	ID            string `json:"id"`
	RPCAddress    string `json:"rpcAddress"`
	Voter         bool   `json:"voter"`
	State         string `json:"state"`
	LeaderID      string `json:"leaderId"`
	Term          uint64 `json:"term,string"`
	AppliedIndex  uint64 `json:"appliedIndex,string"`
	Lag           uint64 `json:"lag,string"`
	LastContactMs int64  `json:"lastContactMs,string"`
	// ClockOffsetMs is the member's clock minus the majority's, as the
	// member measured it (ClockMeasured false: not measured yet).
	ClockOffsetMs int64  `json:"clockOffsetMs,string"`
	ClockMeasured bool   `json:"clockMeasured"`
	ClockProblem  string `json:"clockProblem,omitempty"`
	Healthy       bool   `json:"healthy"`
	Problem       string `json:"problem,omitempty"`
}

// clusterHealth is the answer of `cluster status`, in JSON like
// memberHealth.
type clusterHealth struct {
	LeaderID    string          `json:"leaderId"`
	Term        uint64          `json:"term,string"`
	CommitIndex uint64          `json:"commitIndex,string"`
	Healthy     bool            `json:"healthy"`
	Members     []*memberHealth `json:"members"`
	// QueuesBehind are the work queues whose oldest message is older than
	// --max-queue-age: their workers are down or too few. They do not make
	// the cluster unhealthy.
	QueuesBehind []*queueBehind `json:"queuesBehind"`
}

// queueBehind is a work queue whose oldest message waits too long.
type queueBehind struct {
	Name        string `json:"name"`
	Depth       int64  `json:"depth,string"`
	Leased      int64  `json:"leased,string"`
	DeadLetters int64  `json:"deadLetters,string"`
	OldestAgeMs int64  `json:"oldestAgeMs,string"`
}

// unhealthyError: the cluster answered but is not healthy (exit code 6).
type unhealthyError struct{ problems []string }

func (e unhealthyError) Error() string {
	return "cluster unhealthy: " + strings.Join(e.problems, "; ")
}

func newStatusCmd(g *globals) *cobra.Command {
	var lim healthLimits
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every member's state, last contact, applied index and lag; exit 6 if unhealthy",
		Long: "Asks one node for the membership, then every member for its own view. The cluster is\n" +
			"healthy when there is a leader, every member answers, agrees on the leader, heard from it\n" +
			"within --max-contact, has applied within --max-lag entries of the leader's commit index, and\n" +
			"has a clock within its --max-clock-offset of the majority's (CLOCK: its offset from them).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, done, err := g.client(cmd)
			if err != nil {
				return err
			}
			defer done()
			h, err := checkHealth(ctx, c, lim)
			if err != nil {
				return err
			}
			if h.QueuesBehind, err = queuesBehind(ctx, c, lim.maxQueueAge); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if g.output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				err = enc.Encode(h)
			} else {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				healthTable(tw, h)
				err = tw.Flush()
			}
			if err != nil {
				return err
			}
			var problems []string
			for _, m := range h.Members {
				if !m.Healthy {
					problems = append(problems, m.ID+": "+m.Problem)
				}
			}
			if h.LeaderID == "" {
				problems = append(problems, "no leader")
			}
			if len(problems) > 0 {
				return unhealthyError{problems}
			}
			return nil
		},
	}
	cmd.Flags().Uint64Var(&lim.maxLag, "max-lag", 1000, "most entries a healthy member's applied index may trail the leader's commit index")
	cmd.Flags().DurationVar(&lim.maxContact, "max-contact", 5*time.Second, "longest a healthy follower may go without hearing from the leader")
	cmd.Flags().DurationVar(&lim.maxQueueAge, "max-queue-age", 5*time.Minute, "a work queue whose oldest message is older is listed as behind")
	return cmd
}

// queuesBehind lists the work queues whose oldest message is older than
// maxAge, by the node's clock.
func queuesBehind(ctx context.Context, c *client.Client, maxAge time.Duration) ([]*queueBehind, error) {
	resp, err := c.Queues().ListQueues(ctx, &bookdv1.ListQueuesRequest{})
	if err != nil {
		return nil, err
	}
	behind := []*queueBehind{}
	for _, q := range resp.GetQueues() {
		s := q.GetStats()
		if s.GetOldestEnqueuedAt() == nil {
			continue
		}
		if age := time.Since(s.GetOldestEnqueuedAt().AsTime()); age > maxAge {
			behind = append(behind, &queueBehind{Name: q.GetName(), Depth: s.GetDepth(), Leased: s.GetLeased(),
				DeadLetters: s.GetDeadLetters(), OldestAgeMs: age.Milliseconds()})
		}
	}
	return behind, nil
}

// checkHealth asks every member for its status, through the node that
// first answers (the leader, when the client knows it).
func checkHealth(ctx context.Context, c *client.Client, lim healthLimits) (*clusterHealth, error) {
	first, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	members := make([]*memberHealth, len(first.Members))
	statuses := make([]*bookdv1.GetStatusResponse, len(first.Members))
	errs := make([]error, len(first.Members))
	var wg sync.WaitGroup
	for i, m := range first.Members {
		members[i] = &memberHealth{ID: m.Id, RPCAddress: m.RpcAddress, Voter: m.Voter}
		if m.RpcAddress == "" {
			errs[i] = fmt.Errorf("has not registered its RPC address")
			continue
		}
		wg.Go(func() {
			actx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			statuses[i], errs[i] = c.StatusOf(actx, m.RpcAddress)
		})
	}
	wg.Wait()
	h := &clusterHealth{}
	for _, st := range statuses {
		if st != nil && st.State == "Leader" && st.Term >= h.Term {
			h.LeaderID, h.Term, h.CommitIndex = st.NodeId, st.Term, st.CommitIndex
		}
	}
	for i, m := range members {
		st := statuses[i]
		if errs[i] != nil {
			m.State, m.Problem = "unreachable", errs[i].Error()
			continue
		}
		m.State, m.LeaderID, m.Term, m.AppliedIndex, m.LastContactMs = st.State, st.LeaderId, st.Term, st.AppliedIndex, st.LastContactMs
		clock := st.GetClock()
		m.ClockOffsetMs, m.ClockProblem = clock.GetOffsetMs(), clock.GetProblem()
		m.ClockMeasured = clock.GetMembersNeeded() > 0 && clock.GetMembersMeasured() >= clock.GetMembersNeeded()
		if h.CommitIndex > st.AppliedIndex {
			m.Lag = h.CommitIndex - st.AppliedIndex
		}
		switch {
		case m.ClockProblem != "":
			m.Problem = m.ClockProblem // it does not lead
		case h.LeaderID == "":
			m.Problem = "no member leads"
		case st.LeaderId != h.LeaderID:
			m.Problem = fmt.Sprintf("sees leader %q, not %s", st.LeaderId, h.LeaderID)
		case m.Lag > lim.maxLag:
			m.Problem = fmt.Sprintf("applied index %d trails the leader's commit index %d by more than %d", st.AppliedIndex, h.CommitIndex, lim.maxLag)
		case time.Duration(st.LastContactMs)*time.Millisecond > lim.maxContact:
			m.Problem = fmt.Sprintf("last heard from the leader %d ms ago", st.LastContactMs)
		default:
			m.Healthy = true
		}
	}
	h.Members = members
	h.Healthy = h.LeaderID != ""
	for _, m := range members {
		h.Healthy = h.Healthy && m.Healthy
	}
	return h, nil
}

func healthTable(w io.Writer, h *clusterHealth) {
	state := "healthy"
	if !h.Healthy {
		state = "UNHEALTHY"
	}
	fmt.Fprintf(w, "cluster %s, leader %s, term %d, commit %d\n\n", state, h.LeaderID, h.Term, h.CommitIndex)
	row(w, "ID", "RPC ADDRESS", "VOTER", "STATE", "APPLIED", "LAG", "LAST CONTACT", "CLOCK", "PROBLEM")
	for _, m := range h.Members {
		contact := "-"
		if m.State == "Follower" || m.State == "Candidate" {
			contact = (time.Duration(m.LastContactMs) * time.Millisecond).String()
		}
		row(w, m.ID, m.RPCAddress, m.Voter, m.State, m.AppliedIndex, m.Lag, contact, clockColumn(m), cmp.Or(m.Problem, "-"))
	}
	if len(h.QueuesBehind) > 0 {
		fmt.Fprintf(w, "\nwork queues behind (oldest message older than --max-queue-age):\n")
		row(w, "QUEUE", "DEPTH", "LEASED", "DEAD", "OLDEST")
		for _, q := range h.QueuesBehind {
			row(w, q.Name, q.Depth, q.Leased, q.DeadLetters, (time.Duration(q.OldestAgeMs) * time.Millisecond).Round(time.Second))
		}
	}
}

// clockColumn is a member's clock offset from the majority's ("+25h0m0s"),
// or "-" while it is not measured.
func clockColumn(m *memberHealth) string {
	if !m.ClockMeasured {
		return "-"
	}
	d := time.Duration(m.ClockOffsetMs) * time.Millisecond
	if d.Abs() >= time.Minute {
		d = d.Round(time.Second) // a clock that far off: the milliseconds are noise
	}
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}
