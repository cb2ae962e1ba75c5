package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Work queues, from the node's replicated state (fsm.FSM.Queues) at scrape
// time: every node reports every queue, as of what it has applied.
var (
	descQueueDepth     = desc("queue_depth", "Messages of a queue not yet acked or dead-lettered: due, waiting for a retry, or leased.", "queue")
	descQueueLeased    = desc("queue_leased", "Messages of a queue leased to a worker (a lapsed lease counts until the message is received again).", "queue")
	descQueueDead      = desc("queue_dead_letters", "Dead letters of a queue, waiting for a redrive or for retention to drop them.", "queue")
	descQueueOldest    = desc("queue_oldest_message_age_seconds", "Age of a queue's oldest message not yet acked or dead-lettered, by this node's clock (0 when the queue is empty).", "queue")
	descQueueDelivered = desc("queue_delivered_total", "Deliveries of a queue's messages (Receive handing one out), retries included.", "queue")
	descQueueRetried   = desc("queue_retried_total", "Deliveries of a queue's messages after their first.", "queue")
	descQueueDeadTotal = desc("queue_dead_lettered_total", "Messages of a queue moved to its dead letters.", "queue")
	descQueueAcked     = desc("queue_acked_total", "Messages of a queue acked.", "queue")
)

var queueDescs = []*prometheus.Desc{descQueueDepth, descQueueLeased, descQueueDead, descQueueOldest,
	descQueueDelivered, descQueueRetried, descQueueDeadTotal, descQueueAcked}

// queueCollector reads the queues at scrape time.
type queueCollector struct{ m *Metrics }

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range queueDescs {
		ch <- d
	}
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	node := c.m.node.Load()
	if node == nil {
		return
	}
	queues, err := node.FSM().Queues()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.GaugeValue, 1, "queues")
		return
	}
	now := time.Now()
	for _, q := range queues {
		name, s := q.GetName(), q.GetStats()
		metric := func(d *prometheus.Desc, t prometheus.ValueType, v float64) {
			ch <- prometheus.MustNewConstMetric(d, t, v, name)
		}
		age := 0.0
		if oldest := s.GetOldestEnqueuedAt(); oldest != nil {
			age = max(now.Sub(oldest.AsTime()).Seconds(), 0)
		}
		metric(descQueueDepth, prometheus.GaugeValue, float64(s.GetDepth()))
		metric(descQueueLeased, prometheus.GaugeValue, float64(s.GetLeased()))
		metric(descQueueDead, prometheus.GaugeValue, float64(s.GetDeadLetters()))
		metric(descQueueOldest, prometheus.GaugeValue, age)
		metric(descQueueDelivered, prometheus.CounterValue, float64(s.GetDelivered()))
		metric(descQueueRetried, prometheus.CounterValue, float64(s.GetRetried()))
		metric(descQueueDeadTotal, prometheus.CounterValue, float64(s.GetDeadLettered()))
		metric(descQueueAcked, prometheus.CounterValue, float64(s.GetAcked()))
	}
}
