package flush

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	uploads, entries, bytes, retries prometheus.Counter
	backlog                          prometheus.Gauge
	lag, uploadSeconds               prometheus.Histogram
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
		uploadSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "actorweave_flush_upload_seconds",
			Help: "Time to post one upload until it is accepted, retries included.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
	}
	if reg != nil {
		reg.MustRegister(m.uploads, m.entries, m.bytes, m.retries, m.backlog, m.lag, m.uploadSeconds)
	}
	return m
}
