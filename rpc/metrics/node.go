package metrics

import (
	"github.com/bookd/bookd/fsm"
	"github.com/prometheus/client_golang/prometheus"
)

// maxEvents bounds how many events a scrape reports.
const maxEvents = 1000

var (
	descState       = desc("raft_state", "1 for this node's Raft state (Leader, Follower, Candidate, Shutdown).", "state")
	descTerm        = desc("raft_term", "The node's current Raft term.")
	descCommit      = desc("raft_commit_index", "The node's Raft commit index.")
	descApplied     = desc("raft_applied_index", "The last log index the state machine applied.")
	descLastLog     = desc("raft_last_log_index", "The last index in the node's Raft log.")
	descLastContact = desc("raft_last_contact_seconds", "Seconds since this follower heard from the leader (0 on the leader).")
	descMembers     = desc("raft_members", "Members in the Raft configuration, by suffrage.", "suffrage")
	descEvents      = desc("events", "Events in the state (at most 1000 are reported one by one).")
	descTickets     = desc("event_tickets", "Tickets (GA quantity plus seats) of an event, held or sold, from the node's state.", "event", "status")
	descCapacity    = desc("event_capacity", "An event's capacity.", "event")
	descScrapeErr   = desc("scrape_errors", "1 when part of the node's state could not be read for this scrape.", "part")
	descReadBarrier = desc("read_barriers_total", "Raft barrier entries linearizable reads appended on this node (a term's first read round, or a round whose wait was cut short).")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("bookd_"+name, help, labels, nil)
}

// nodeCollector reads the node at scrape time.
type nodeCollector struct{ m *Metrics }

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descTerm, descCommit, descApplied, descLastLog, descLastContact, descMembers, descEvents, descTickets, descCapacity, descScrapeErr, descReadBarrier, descStart, descPause} {
		ch <- d
	}
	for _, d := range clockDescs {
		ch <- d
	}
	describePebble(ch)
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	node := c.m.node.Load()
	if node == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	st, err := node.Status()
	if err != nil {
		gauge(descScrapeErr, 1, "raft")
	}
	for _, s := range []string{"Leader", "Follower", "Candidate", "Shutdown"} {
		v := 0.0
		if st.State == s {
			v = 1
		}
		gauge(descState, v, s)
	}
	gauge(descTerm, float64(st.Term))
	gauge(descCommit, float64(st.CommitIndex))
	gauge(descApplied, float64(st.AppliedIndex))
	gauge(descLastLog, float64(st.LastLogIndex))
	gauge(descLastContact, st.LastContact.Seconds())
	voters, nonvoters := 0, 0
	for _, m := range st.Members {
		if m.Voter {
			voters++
		} else {
			nonvoters++
		}
	}
	gauge(descMembers, float64(voters), "voter")
	gauge(descMembers, float64(nonvoters), "nonvoter")
	ch <- prometheus.MustNewConstMetric(descReadBarrier, prometheus.CounterValue, float64(node.ReadBarriers()))
	collectClock(ch, node)
	collectStart(ch, node)
	collectPauses(ch, node)

	f := node.FSM()
	events, _, err := f.ListEvents(fsm.EventFilter{}, "", maxEvents)
	if err != nil {
		gauge(descScrapeErr, 1, "events")
	}
	gauge(descEvents, float64(len(events)))
	for _, ev := range events {
		av, err := f.Availability(ev.Id, 0)
		if err != nil {
			continue // deleted meanwhile
		}
		gauge(descTickets, float64(av.HeldQuantity+av.HeldSeats), ev.Id, "held")
		gauge(descTickets, float64(av.BookedQuantity+av.BookedSeats), ev.Id, "sold")
		gauge(descCapacity, float64(av.Capacity), ev.Id)
	}
	collectPebble(ch, f)
}
