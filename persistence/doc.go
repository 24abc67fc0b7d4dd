// Package persistence owns the node's Pebble store: the process registry, each process's ordered log
// (assignment and message items keyed so that one process's log is one contiguous range in nonce
// order), the id indexes, deduplication and group commit.
//
// It must not evaluate anything and must not decide ordering: the scheduler decides, this package
// makes the decision durable and refuses writes that would break the log (duplicates, gaps, stale
// epochs).
package persistence
