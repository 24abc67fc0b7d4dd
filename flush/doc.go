// Package flush is the Arweave flusher: it streams each process's new log entries (assignment and
// message items), the latest checkpoints, the result certificates of evaluated entries (after their
// log; arweave/FORMAT.md §6) and the node's standalone items (modules, process items,
// items pushed to wallets) to Arweave in the format of arweave/FORMAT.md, through one of the two
// upload paths of package arweave.
//
// It runs on its own goroutine, off the acknowledgement path: it reads what the store already made
// durable and never holds a process's lock, so it cannot delay an acknowledgement. Each round takes
// what is waiting (up to Config.MaxBytes), signs one Log-Batch item per process with the scheduler key (docs/scheduler-identity.md),
// and makes the upload exactly once across crashes:
//
//  1. the signed upload (L1 transaction or items) and the ranges it covers are written to the store
//     as the in-flight record (persistence.PutFlushInFlight), durably, before anything is posted;
//  2. it is posted, retried with exponential backoff; before each retry the gateway is asked
//     whether the previous attempt landed;
//  3. completion (persistence.CompleteFlush) advances the per-process flush cursors and empties the
//     queues in one batch.
//
// After a crash, the record found at start is checked on the gateway and either completed or posted
// again byte for byte; a range is never signed twice.
//
// Why a package of its own and not persistence (which keeps the flush bookkeeping, docs/design.md
// §4):
// persistence stays free of HTTP and of signing; it owns the cursors, the in-flight record and the
// queues (persistence/flush.go), this package owns the loop and the network.
//
// It never stops on an error while the node runs: every failure is retried with backoff (a flusher
// that stops would leave the node acknowledging writes that never reach Arweave), and what keeps
// failing shows in Health (/healthz), the log and the metrics.
//
// It must not evaluate anything or change the logs.
package flush
