// Package dryrun is the node-wide pool that read-only evaluations (dry-runs) wait in and run in.
//
// It owns admission and concurrency only: a fixed number of evaluations at a time, a bounded
// queue behind them, a cap per process (key) on evaluations queued or running, each evaluation's
// deadline, and dropping queued requests whose caller has gone. It knows nothing of processes or
// modules: the caller passes the work as a function. It must not run a process's own messages:
// dry-runs are kept apart so that anyone's dry-runs cannot delay the process they name.
package dryrun
