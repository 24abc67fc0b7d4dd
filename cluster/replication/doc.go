// Package replication makes every durable append of a process durable on its backup node too, and
// moves ownership of a process between nodes without losing or forking its log (docs/design.md §5,
// invariants 1 and 2).
//
// It owns the replication stream (owner → backup over Proto.Actor remote, protobuf messages in
// replpb), the ownership fence (epochs raised on the backup before a new owner writes), catch-up of a
// lagging replica from the owner's log, and pulling a log a new owner lacks from the replica that
// holds it, and the bulk moves built on the hand-over (drain.go): Follow rebalances after every
// membership change, Drain hands every owned process to its successor before a graceful leave. It
// must not decide placement (it is given a Placement function: cluster membership
// decides owner and backup), evaluate anything, or hold process state in memory beyond which
// processes are in sync with which backup.
//
// # Protocol
//
// Backup first: the owner sends each batch to the backup, which appends it (persistence
// AppendReplicated: the sender's epoch is checked and, if higher, raised in the same Pebble batch
// as the entries) and answers after its fsync; only then does the owner append locally and
// acknowledge. So an acknowledged entry is on both nodes, and a write the backup refuses (a newer
// owner fenced it, or it cannot be reached) is written nowhere: a stale or partitioned owner can
// never fork the log. A crash between the two leaves the backup one batch ahead of the owner, with
// entries nobody acknowledged; the owner's next activation pulls them (the client's retry is then
// deduplicated).
//
// Activation (Replicator.Activate, before the process actor reads its state) is the hand-over:
//  1. Fence: the backup raises its epoch to max(its epoch+1, ours+1) and reports its log length and
//     last hash-chain link. From then on the backup refuses every older owner.
//  2. Pull what the backup holds beyond our log (failover: the backup was the only survivor;
//     migration: the old owner is now our backup under rendezvous placement), or push what we hold
//     beyond the backup's (a new, empty or lagging backup). Every entry is checked for hash-chain
//     continuity on arrival, so diverged logs are reported (ErrDiverged), never merged.
//  3. Raise our own epoch to the fenced one. The scheduler then stamps that epoch on new assignments.
//
// If the backup cannot be reached, activation still succeeds (reads are served from the local log)
// but every write is refused with ErrBackupUnreachable until a later sync succeeds: with a
// replication factor of 2 that is the quorum rule (owner and backup must both hold each write).
//
// # Diverged tails and forks
//
// Where the two logs first differ (reconcile), the entry with the lower epoch belongs to a tail a
// fenced owner wrote and nobody acknowledged: that replica truncates it (the tail goes to its
// archive, persistence.TruncateFrom). Two cases have no safe automatic answer, because both sides
// may hold acknowledged writes: the same epoch on both entries, and a lower-epoch tail already
// evaluated (TruncateFrom refuses with ErrEvaluated, locally or in the backup's DIVERGED reply).
// Then the owner records a fork (persistence.ForkRecord) and refuses with ErrForked, at once on
// every later sync, until an operator's ResolveFork chooses the history to keep: the loser's
// entries from the divergence on are archived with their evaluation rolled back (DiscardFrom, or
// the Discard message on the backup), and the lost entries whose messages the kept log lacks are
// returned for the node to schedule again (fork.go).
//
// # Hand-over with a checkpoint
//
// A hand-over (Handover → takeOver on the new owner: rebalancing after a join, a weight change or a
// graceful leave) also moves evaluation state (compute.go): after the log, the new owner pulls the
// old owner's newest checkpoint that precedes its first undelivered push, checks its SHA-256, and
// installs it with the stored results before it, moving its evaluation cursor past it; it then
// restores the memory and evaluates only the tail. Nothing of the outbox travels: every push up to
// the checkpoint was delivered, and later ones are produced again with the same ids. This package
// still evaluates nothing; it copies what the evaluator stored.
package replication
