package actors

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	acked, evaluated, replayed, dryRuns                 prometheus.Counter
	activations, passivations, checkpoints              prometheus.Counter
	pushesDelivered, forwarded                          prometheus.Counter
	routeWaits, routeRetries                            prometheus.Counter
	pushesPending                                       prometheus.Gauge
	quotaHits, forwardedItems                           *prometheus.CounterVec
	cronTicks, cronSkipped                              prometheus.Counter
	cronLateness, cronEvalLateness                      prometheus.Histogram
	ackLatency, evalLatency, batchSize, checkpointBytes prometheus.Histogram
	evalCPU, driveWaits                                 prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, h *Host) *metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "actorweave", Name: name, Help: help})
	}
	hist := func(name, help string, b []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "actorweave", Name: name, Help: help, Buckets: b})
	}
	m := &metrics{
		acked:           c("acked_total", "Items acknowledged: durable in a process's log."),
		evaluated:       c("evaluations_total", "Log entries evaluated."),
		replayed:        c("replayed_total", "Log entries re-evaluated to rebuild memory after a checkpoint."),
		dryRuns:         c("dry_runs_total", "Dry-runs evaluated."),
		activations:     c("activations_total", "Process activations."),
		passivations:    c("passivations_total", "Process passivations."),
		checkpoints:     c("checkpoints_total", "Memory checkpoints written."),
		pushesDelivered: c("pushes_delivered_total", "Outbox messages, spawns and assignments delivered."),
		forwarded:       c("forwarded_total", "Requests to processes owned by another member, forwarded to it."),
		forwardedItems: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "actorweave", Name: "forwarded_items_received_total",
			Help: "Items another member forwarded to this owner, by how the owner knew them verified: proof (the sender's cluster.ItemProof checked, no signature verification here) or signature (verified here)."},
			[]string{"check"}),
		routeWaits:   c("route_waits_total", "Requests that waited because their process's owner was unreachable or did not own it yet (membership changing)."),
		routeRetries: c("route_retries_total", "Attempts routed again after such a wait."),
		pushesPending: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "actorweave", Name: "pushes_pending",
			Help: "Pushes recorded but not yet delivered."}),
		quotaHits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "actorweave", Name: "quota_hits_total",
			Help: "Per-process quotas hit: receive_rate (refused, 429), send_rate and spawn_rate (pushes delayed), push_backlog (pushes rejected), queue_depth (refused, 503)."},
			[]string{"quota"}),
		cronTicks:        c("cron_ticks_total", "Cron ticks appended to process logs."),
		cronSkipped:      c("cron_ticks_skipped_total", "Cron ticks missed during downtime and skipped by the catch-up policy."),
		cronLateness:     hist("cron_tick_lateness_seconds", "Time-based cron ticks: assignment timestamp minus due time.", prometheus.ExponentialBuckets(0.001, 1.25, 60)),
		cronEvalLateness: hist("cron_tick_eval_lateness_seconds", "Time-based cron ticks: end of evaluation minus due time.", prometheus.ExponentialBuckets(0.001, 1.25, 60)),
		ackLatency:       hist("ack_seconds", "Time from a submit reaching its process to its durable acknowledgement.", prometheus.ExponentialBuckets(0.0001, 2, 16)),
		evalLatency:      hist("evaluation_seconds", "Time to evaluate one log entry.", prometheus.ExponentialBuckets(0.00005, 2, 18)),
		driveWaits:       c("weavedrive_waits_total", "Evaluations put off because a WeaveDrive read was unavailable (gateway unreachable, cache full): retried later, nothing recorded."),
		evalCPU:          c("evaluation_cpu_seconds_total", "CPU time of the evaluating thread in the module's handle calls (Linux): the module's own cost of the entries evaluated, without waiting for a core."),
		batchSize:        hist("append_batch_entries", "Entries per durable append of one process.", prometheus.ExponentialBuckets(1, 2, 10)),
		checkpointBytes:  hist("checkpoint_bytes", "Compressed checkpoint size.", prometheus.ExponentialBuckets(1024, 4, 10)),
	}
	if reg != nil {
		reg.MustRegister(m.acked, m.evaluated, m.replayed, m.dryRuns, m.activations, m.passivations, m.checkpoints,
			m.pushesDelivered, m.forwarded, m.forwardedItems, m.routeWaits, m.routeRetries, m.pushesPending, m.quotaHits, m.cronTicks, m.cronSkipped, m.cronLateness, m.cronEvalLateness, m.ackLatency, m.evalLatency, m.evalCPU, m.driveWaits, m.batchSize, m.checkpointBytes,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "actorweave", Name: "active_processes",
				Help: "Processes with a live activation."}, func() float64 { return float64(h.lookup.active()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "actorweave", Name: "passive_processes",
				Help: "Registered processes without a live activation."}, func() float64 {
				return float64(max(0, h.processes.Load()-int64(h.lookup.active())))
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "actorweave", Name: "processes",
				Help: "Registered processes."}, func() float64 { return float64(h.processes.Load()) }))
	}
	return m
}
