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
// (docs/design.md §8): no disthash lookup, no persistence.Mixin, no options passed to
// RequestFuture, our own request wrapper with bounded retries on dead letters only.
//
// # Operations and routing (op.go, ops.go, reads.go, route.go, placement.go)
//
// Every operation on a process is declared once as an op: its name on the wire, what the owner
// does (serve), its protobuf request and reply (cluster/clusterpb), whether it is a read, and, for
// submits, the Process item whose labels place a spawn and how an ambiguous duplicate is answered.
// ops.go declares the grain's operations (submit, assign, locate, dry-run, state, monitor, tick),
// reads.go the reads of a process's record, log and results, which the owner serves from its store
// after proving its copy current (it hears a quorum and is level with its backups: proveCurrent).
// call is the one routing loop: it runs any op on the owner under the node's current view (the
// cluster package's placement, restricted by the process's Placement-Labels tag), locally through
// serveOwned, or on the owner's forwarder, where register installed the same serveOwned for every
// op. serveOwned refuses what this member does not own in its own view, before activating
// anything. On a single node the view is the node alone. A forwarded submit carries
// Deps.ItemProof's proof that this member verified its item (Submit takes verified items only);
// the owner that checks it parses the item without verifying its signature again (forwardedItem),
// and verifies it itself when the proof is missing or wrong.
//
// # The grain: a pure core and its shell (grain/, process.go)
//
// A grain is two parts. Its core (package grain) is a state machine with no I/O: the actor feeds it
// events (a request arrived, an append or the hand-over ended, the sweeper's idle check) and it
// answers with effects (serve, refuse or hold a request, reply, append a batch, start the
// hand-over, tell the evaluator, stop). The actor is the shell: it translates Proto.Actor messages
// into events, asks the store what the core needs to know (is this message already in the log,
// where does the log stand after a failure), and runs the effects. The core's scripts
// (grain/testdata) run it without disk, network or actors.
//
// # Ingest
//
// A submit reaches the grain through the host's request wrapper (lookup.acquire, RequestFuture,
// release). The shell checks the process and the target and asks the store whether the message is
// a duplicate (persistence.HasMessage, almost always answered by the store's in-memory filter); the
// core applies the receive quota and the mailbox bound, asks the pure scheduler for the next
// assignment, has it signed with the node key, and hands the whole pending batch to an Append that
// the shell runs on a goroutine (persistence.AppendBatch); the reply waits for the fsync. Submits
// that arrive meanwhile form the next batch, so a hot process gets more than one acknowledgement
// per fsync, and Pebble's commit pipeline shares each fsync across processes.
//
// With Deps.Replication set (a cluster), the append goroutine first makes the batch durable on
// every backup of the process's replica set (cluster/replication) and appends locally only once
// they all acknowledged it; an activation starts with the hand-over (Replication.Activate: fence
// the backups, level the logs),
// which also runs on a goroutine: the mailbox keeps serving meanwhile, and the core holds the
// requests that need the activated state, in order, within MaxPending (beyond it ErrBusy, 503),
// and starts no append until the hand-over ends; then they are let in, and a failed hand-over is
// answered to them with its error. Host.Stop waits for hand-overs as for appends, and a stopping
// activation refuses what it holds with ErrStopping. A batch refused because the log was
// re-synchronised is scheduled again (ErrResync); a fenced owner's refusal also wraps
// cluster.ErrNotOwner, so the router retries at the owner of a fresher view.
//
// # Evaluation and pushes
//
// The evaluator child owns the process's wazero instance. Fresh entries come with the grain's
// headAdvanced message (no read-back); after a restart it reads the log. Each result is committed
// with the pushes it produced and the advanced cursor in one batch, and only then are the pushes
// handed to the pusher, which delivers them in outbox order per source process and deletes each
// once its target holds it. A crash between the two delivers again, and the target refuses the
// duplicate id: that is exactly-once delivery, tested by node.TestKill9Node.
//
// # Activation and passivation
//
// The lookup counts requests in flight per activation. The host's sweeper sends idleCheck to
// activations idle for Config.IdleTimeout; an activation stops only when nothing is pending or held
// for a hand-over, the log is fully evaluated (the core decides) and the lookup agrees no request is
// on its way (tryStop), after checkpointing if at least CheckpointOnPassivate evaluations happened
// since the last checkpoint. New requests wait for the stop and reactivate. Proto.Actor's receive
// timeout is not used: it has a data race in this version (#1139). Reactivation reads the process,
// the last assignment (the scheduler resumes from it) and the evaluation cursor; the instance is
// rebuilt lazily from the latest checkpoint plus a replay of the evaluated entries after it.
//
// # Crons (ticker.go, cron.go)
//
// A process's cron ticks are ordinary entries of its log: data items signed by the node key
// (package cron builds them), appended by the process's grain like any submit, evaluated like
// any message, so replay and verification need no clock. One node-level ticker keeps a min-heap of
// the next time tick of every cron process (no goroutine or timer per process) and, when the block
// height moves, checks the block-cron processes; due processes go to CronWorkers workers, which
// send the grain a tickRequest (re-activating it if it was passivated; the idle sweeper passivates
// it again afterwards). The grain is the authority on which ticks exist: its tick cursor (last
// sequence per cron) is rebuilt on activation from the cron index record and the log after it, and
// a tick at or below it is never generated again. At start the ticker rebuilds its heap from the
// cron index; the first wake-up of each process after start applies CronCatchUp to the ticks that
// fell while the node was down. In a cluster the ticker schedules only the cron processes its node
// owns, wakes only local grains, and re-reads its share from the cron index (which every store
// writes for every cron process it registers, replicas included) at each view change and for each
// process registered later (cronown.go). Monitoring: ticks run from the spawn on (the reference
// compute unit also evaluates crons whether or not anyone monitors them); DELETE /monitor pauses a
// process's crons (recorded, durable, on the owner only: a new owner does not know of the pause)
// and POST /monitor resumes them without catching up the pause.
//
// # Quotas (quota.go, pusher.go)
//
// Per process: a receive rate (token bucket in the grain; a submit over it is refused with
// ErrQuota, HTTP 429, and a push from another process is retried by the pusher), the mailbox bound
// (MaxPending, ErrBusy, 503), a send rate and a spawn rate (token buckets per source lane of the
// pusher, which outlive the lane: pushes over the rate are delayed in order, never dropped, and the
// result of the evaluation that made them says so in Quota), and a backlog bound (pushes beyond
// MaxQueuedPushes undelivered are rejected, listed in the result's Rejected and Quota). Every hit is
// counted in actorweave_quota_hits_total{quota}. A process messaging itself in a loop thus runs at
// its send rate: its lane is one goroutine among many and its evaluations are paced by its pushes,
// so it cannot crowd out other processes' pushes or evaluations.
package actors
