package metrics

import (
	"github.com/bookd/bookd/fsm"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	descDiskUsage   = desc("pebble_disk_usage_bytes", "Bytes Pebble's store takes on disk.")
	descMemtable    = desc("pebble_memtable_bytes", "Bytes in Pebble's memtables.")
	descReadAmp     = desc("pebble_read_amplification", "Pebble's read amplification (sublevels plus levels read per lookup).")
	descCompactions = desc("pebble_compactions_total", "Compactions Pebble ran.")
	descWALBytes    = desc("pebble_wal_bytes_written_total", "Bytes Pebble wrote to its write-ahead log.")
	descCacheHits   = desc("pebble_block_cache_hits_total", "Block cache hits.")
	descCacheMisses = desc("pebble_block_cache_misses_total", "Block cache misses.")
	descL0Files     = desc("pebble_l0_files", "Files in level 0 (a growing number means compactions fall behind).")
)

func describePebble(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDiskUsage, descMemtable, descReadAmp, descCompactions, descWALBytes, descCacheHits, descCacheMisses, descL0Files} {
		ch <- d
	}
}

func collectPebble(ch chan<- prometheus.Metric, f *fsm.FSM) {
	pm := f.PebbleMetrics()
	if pm == nil {
		return
	}
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	c := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(descDiskUsage, float64(pm.DiskSpaceUsage()))
	g(descMemtable, float64(pm.MemTable.Size))
	g(descReadAmp, float64(pm.ReadAmp()))
	c(descCompactions, float64(pm.Compact.Count))
	c(descWALBytes, float64(pm.WAL.BytesWritten))
	c(descCacheHits, float64(pm.BlockCache.Hits))
	c(descCacheMisses, float64(pm.BlockCache.Misses))
	g(descL0Files, float64(pm.Levels[0].TablesCount))
}
