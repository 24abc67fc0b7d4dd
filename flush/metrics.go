package flush

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	uploads, entries, bytes, retries, refusals prometheus.Counter
	backlog, failing, lagNow                   prometheus.Gauge
	lag, uploadSeconds                         prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		uploads: prometheus.NewCounter(prometheus.CounterOpts{Name: "actorweave_flush_uploads_total", Help: "Uploads to Arweave completed."}),
		entries: prometheus.NewCounter(prometheus.CounterOpts{Name: "actorweave_flush_entries_total", Help: "Log entries uploaded to Arweave."}),
		bytes:   prometheus.NewCounter(prometheus.CounterOpts{Name: "actorweave_flush_bytes_total", Help: "Bytes posted to Arweave (bundles or data items)."}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "actorweave_flush_retries_total", Help: "Failed upload attempts that were retried."}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "actorweave_flush_backlog_entries", Help: "Acknowledged log entries not yet on Arweave, at the last upload."}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "actorweave_flush_lag_seconds",
			Help:    "Per log entry: from its acknowledgement (the assignment's timestamp) to its upload being accepted.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}),
		refusals: prometheus.NewCounter(prometheus.CounterOpts{Name: "actorweave_flush_refusals_total",
			Help: "Upload attempts the gateway or bundler refused for good (4xx other than 408 and 429); retried, but someone must look."}),
		failing: prometheus.NewGauge(prometheus.GaugeOpts{Name: "actorweave_flush_failing", Help: "1 while the current upload keeps failing, 0 once one is accepted."}),
		lagNow: prometheus.NewGauge(prometheus.GaugeOpts{Name: "actorweave_flush_oldest_unflushed_seconds",
			Help: "Age of the oldest acknowledged log entry not yet on Arweave, at the last scan."}),
		uploadSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "actorweave_flush_upload_seconds",
			Help: "Time to post one upload until it is accepted, retries included.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
	}
	if reg != nil {
		reg.MustRegister(m.uploads, m.entries, m.bytes, m.retries, m.backlog, m.lag, m.uploadSeconds, m.refusals, m.failing, m.lagNow)
	}
	return m
}
