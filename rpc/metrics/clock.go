package metrics

import (
	"github.com/bookd/bookd/raftnode"
	"github.com/prometheus/client_golang/prometheus"
)

// The node's clock against the other members' (see raftnode.ClockStatus).
var (
	descClockOffset      = desc("clock_offset_seconds", "This node's clock minus the majority's (the median of the voters' clocks); positive when ahead. 0 until measured.")
	descClockUncertainty = desc("clock_offset_uncertainty_seconds", "The clock offset is known to plus or minus this (half the probes' round trip).")
	descClockMaxOffset   = desc("clock_max_offset_seconds", "The node's --max-clock-offset: further than this from the majority's clock, the node does not lead.")
	descClockMeasured    = desc("clock_members_measured", "Voters whose clocks this node measured in the last few seconds (its own included); a verdict needs a majority.")
	descClockProblem     = desc("clock_problem", "1 while this node's clock is further than --max-clock-offset from the majority's: it does not lead.")
	descClockHandoffs    = desc("clock_leadership_handoffs_total", "Times this node handed leadership over because of its clock.")
)

var clockDescs = []*prometheus.Desc{descClockOffset, descClockUncertainty, descClockMaxOffset, descClockMeasured, descClockProblem, descClockHandoffs}

func collectClock(ch chan<- prometheus.Metric, node *raftnode.Node) {
	st := node.ClockStatus()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	problem := 0.0
	if st.Problem != "" {
		problem = 1
	}
	gauge(descClockOffset, st.Offset.Seconds())
	gauge(descClockUncertainty, st.Uncertainty.Seconds())
	gauge(descClockMaxOffset, st.MaxOffset.Seconds())
	gauge(descClockMeasured, float64(st.Measured))
	gauge(descClockProblem, problem)
	ch <- prometheus.MustNewConstMetric(descClockHandoffs, prometheus.CounterValue, float64(st.Handoffs))
}
