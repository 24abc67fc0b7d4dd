// Package actors runs every AO process as a Proto.Actor virtual actor (a cluster grain of kind
// "process"): the ProcessActor schedules and makes durable what is sent to its process (the SU
// role), its evaluator child runs the process's module over the log (the CU role), and the host's
// pusher delivers what evaluations send to other processes (the MU role).
//
// It owns activation and passivation (our own IdentityLookup, which also guarantees that no request
// is ever lost behind a stopping activation), the ingest pipeline (per-process batching: while one
// append is being fsync'd, the next arrivals gather into the next batch), evaluation order, result
// waiting, checkpoints, and exactly-once delivery of pushes.
//
// It must not parse HTTP, and it keeps protoactor-go's known defects out of reach
// (shared/protoactor-notes.md): no disthash lookup, no persistence.Mixin, no options passed to
// RequestFuture, our own request wrapper with bounded retries on dead letters only.
package actors
