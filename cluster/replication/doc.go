// Package replication makes every durable append of a process durable on its backup nodes too, and
// moves ownership of a process between nodes without losing or forking its log (docs/design.md §5,
// invariants 1 and 2).
//
// It owns the replication stream (owner → backups over Proto.Actor remote, protobuf messages in
// replpb), the ownership fence (epochs raised on the backups before a new owner writes), catch-up of
// a lagging replica from the owner's log, pulling a log a new owner lacks from the replica that
// holds it, and the bulk moves built on the hand-over (drain.go): Follow rebalances after every
// membership change, Drain hands every owned process to its successor before a graceful leave. It
// must not decide placement (it is given a Placement function: cluster membership
// decides the replica set), evaluate anything, or hold process state in memory beyond which
// processes are in sync with which backups.
//
// # Replica sets
//
// A process's replica set under replication factor N (Config.Factor, 1 to MaxFactor; 0 is the
// default, 2 with Auto) is a preference list (Replicas): the first N members of the router's
// weighted rendezvous order restricted to the process's labels (cluster.View.Replicas), the owner
// first and then its N-1 backups in order. Factor 2 is owner and backup; everything below reads
// "the backup" as "every backup of the list" with N-1 = 1. A list with fewer than N-1 backups (too
// few members can hold the process) refuses writes with ErrNoBackup.
//
// # Protocol
//
// Backups first, all of them: the owner sends each batch to every backup of the list, in parallel;
// each appends it (persistence AppendReplicated: the sender's epoch is checked and, if higher,
// raised in the same Pebble batch as the entries) and answers after its fsync; only when every
// backup has answered OK does the owner append locally and acknowledge (write-all). So an
// acknowledged entry is on all N members of the list, and any one surviving member holds every
// acknowledged write: the cluster keeps them through the loss of N-1 members. A write any backup
// refuses (a newer owner fenced it, or it cannot be reached) is not acknowledged: a stale or
// partitioned owner can never get an acknowledgement past a fence. A crash between the backups'
// appends and the owner's leaves backups one batch ahead of the owner, with entries nobody
// acknowledged; the owner's next activation pulls them (the client's retry is then
// deduplicated).
//
// Activation (Replicator.Activate, before the process actor reads its state) is the hand-over:
//  1. Fence every backup of the list, in parallel: each raises its epoch to max(its epoch+1, ours+1)
//     and reports its log length and last hash-chain link. Each fence of a replica returns an epoch
//     no other fence of it ever returns; backups that answered less than the highest answer are
//     fenced again at it, until this owner holds one epoch e on every backup (fenceAll). From then
//     on each of them refuses every owner of an older epoch.
//  2. Take e locally (persistence.ClaimEpoch: a compare-and-set on the epoch read before fencing,
//     so an owner that fenced this node meanwhile wins).
//  3. Level the logs: with each backup in list order, drop the lower-epoch side of a diverged tail
//     (reconcile) and pull what it holds beyond our log (failover: a backup was the only survivor;
//     migration: the old owner is now a backup under rendezvous placement), so our log ends as the
//     longest history the epoch rules keep; then push to every backup what it lacks (a new, empty
//     or lagging backup), reconciling again one whose turn came before our log changed. Every
//     entry is checked for hash-chain continuity on arrival, so diverged logs are reported
//     (ErrDiverged), never merged. The scheduler then stamps e on new assignments.
//
// If a backup cannot be reached, activation still succeeds (reads are served from the local log)
// but every write is refused with ErrBackupUnreachable until a later sync with every backup of the
// current list succeeds: write-all needs them all.
//
// Why this is safe under factor N. A stale owner O (its view's list L, its epoch e) gets an
// acknowledgement only when every member of L took the batch. A new owner O' (list L', epoch
// e' > e) fences every member of L' before it writes, and pulls from them. If L and L' share a
// member X, then from the moment O' fenced X, X refuses O (STALE_EPOCH: X is at e' > e), so O
// acknowledges nothing more; and everything O acknowledged before is on X, which O' pulled (or
// on a longer replica continuing the same chain). A shared member exists across a failover:
// rendezvous ranks every member on its own, so the members of L alive in the view of O' keep their
// relative order and stay among its first N (they can only move up); members of L missing from
// that view are dead (then O cannot reach them either and acknowledges nothing) or cut off, which
// the quorum guard covers (a side without a majority writes nothing). A join pushes at most one
// member out of a list; only N joins ranked above every member of L in one view change leave L and
// L' disjoint, and then safety rests on the old owner handing the process over (Rebalance: the new
// owner fences it and pulls), as with factor 2. The owner's own store is one more replica: a
// hand-over that fenced it makes its claim (step 2) or its next write fail. Two owners never hold
// the same epoch on a shared replica (step 1), so invariant 2 (one signer per epoch) holds for any
// N.
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
//
// # One Append per process batch, not batched across processes
//
// Each process's write goes to a backup as its own Append. Queueing the Appends of all processes
// bound for one backup and sending them as one message was built and measured (December 2026,
// `actorweave bench cluster --nodes 3 --clients 64 --processes 100 --messages 10000`, twelve runs
// of each binary paired in one command): replication requests per acknowledgement fell from 1.00 to
// 0.26, but acknowledgements/s (2722 against 2724) and node CPU per acknowledgement (0.486 against
// 0.494 ms) did not move beyond the machine's noise; CPU profiles showed at most 7% less cluster
// CPU, most of a cluster's extra cost being the forward hop, the gRPC transport and the second copy
// of each append. It was not kept: a batch is answered when its slowest Append is, so one process
// waiting for its lock on the backup would delay the writes of others, and it needed a protocol
// change. Pebble already shares one fsync among the concurrent Appends of different processes on
// the backup (server.go).
package replication
