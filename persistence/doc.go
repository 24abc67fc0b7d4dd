// Package persistence owns the node's Pebble store: the process registry, each process's ordered log
// (assignment and message items keyed so that one process's log is one contiguous range in nonce
// order), the id indexes, deduplication and group commit.
//
// It must not evaluate anything and must not decide ordering: the scheduler decides, this package
// makes the decision durable and refuses writes that would break the log (duplicates, gaps, stale
// epochs).
//
// # API
//
//	s, err := persistence.Open(dir, persistence.Options{})  // zero Options = durable defaults
//	s.PutProcess(ctx, p)           // ErrProcessExists on a second put; durable on return
//	s.Process(pid)                 // ErrNotFound
//	s.Append(ctx, e)               // durable on return; see Append for what it refuses
//	s.Head(pid)                    // last entry: the scheduler rebuilds its state from it
//	s.Entry(pid, nonce)            // one entry
//	s.ByMessageID(id)              // every (process, nonce) a message is scheduled at
//	s.ByAssignmentID(id)           // where an assignment is
//	s.Scan(Query{...})             // one page, SU shapes: by nonce or timestamp, from exclusive,
//	                               // to inclusive, limit, HasMore (= has_next_page)
//	s.SetEpoch(ctx, pid, epoch)    // raise the ownership epoch (fence); lowering is ErrStaleEpoch
//
// The store keeps raw bytes and 32-byte ids and never parses a data item. Every refusal is an
// *Error wrapping one sentinel (ErrMessageExists, ErrNonceGap, ErrStaleEpoch, ...) whose message
// names the process, message or nonce, e.g.
// "persistence: message <id> already in process <pid>: message already exists".
//
// # What Append checks, atomically per process
//
// Every mutation of a process (PutProcess, Append, SetEpoch) holds that process's lock from
// validation until its batch is durable, and validation reads an in-memory head (registered?,
// epoch, last nonce, last hash-chain link, last assignment id) loaded from Pebble on first use. So of
// two concurrent appends to one process at most one passes, and the epoch check and the write are
// one step (DESIGN.md invariant 2): once SetEpoch has returned, no append with the old epoch lands.
// Checks: the process is registered; Epoch equals the process's epoch (lower: ErrStaleEpoch;
// higher: ErrEpochAhead, the new owner must SetEpoch first so the fence is explicit and durable);
// Nonce is last+1 (0 first); HashChain is SHA-256(prev assignment id ‖ prev link), or SHA-256(pid)
// first (ao-protocol.md §2.4); the message id is not yet in this process's log (ErrMessageExists);
// the assignment id is not stored yet; sizes are within Options.
//
// Appends to one process are serial (one in flight, each waiting for its fsync), so one process
// sustains about 1/fsync-latency appends per second; throughput comes from many processes.
//
// # Keys
//
// See keys.go: 'p' pid (process), 'e' pid (epoch), 'l' pid nonce (log, big-endian: one process's
// log is one contiguous range in nonce order), 't' pid ts nonce (timestamp index), 'm' msgid pid
// (message index and dedup), 'a' assignmentid (assignment index). A log entry, its timestamp key and
// its index keys are one batch.
//
// # Deduplication without a Get per append
//
// The dedup checks are Pebble Gets for keys that are almost always absent, which must probe the
// memtables and every level. Profiling the 256-writer benchmark showed these Gets at ~54% of CPU
// (index and filter block reads of freshly compacted tables). An in-memory Bloom filter over every
// 'm' and 'a' key (filter.go; 16 MiB default, rebuilt by a scan of the two index ranges at Open)
// answers "absent" for almost all appends; "maybe" falls back to the Get, so the filter changes
// cost, never answers. A/B on the same machine and minute: ~+40% appends/s at 256 writers.
//
// # Group commit: measured choice
//
// Two strategies, both correct (each append returns after a WAL fsync that covers it; see
// TestGroupCommitSharesFsyncs and the power-loss test):
//   - CommitPipeline: each append commits its own batch with pebble.Sync; Pebble's commit pipeline
//     lets one WAL fsync cover every batch queued behind it.
//   - CommitSerial: appends hand their batch to one committer goroutine, which merges all pending
//     batches into one and commits it with one fsync.
//
// Measured with `actorweave bench append --commit pipeline,serial` (numbers and commands in
// BENCHMARKS below). See the BENCHMARKS section for which one is the default and why.
package persistence
