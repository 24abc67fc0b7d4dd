// Package grain is the pure core of a process grain (actors/process.go), in the style of etcd
// raft's RawNode: the actor feeds it events (Core.Step) and runs the effects it answers with; the
// core holds the decisions and no I/O. It has no disk, network, clock or actor system inside: the
// time and the store's answers come in the events, the scheduler's clock, the block height and the
// node key's signature through Env, and whom to answer is an opaque value it only hands back.
//
// It decides:
//
//   - batching: a submit is scheduled (scheduler.Next, signed through Env) into the next batch,
//     one Append in flight at a time; what arrives meanwhile waits and goes in the next one, up to
//     Config.MaxBatch;
//   - admission: the receive quota (ErrQuota), the mailbox bound (Config.MaxPending, ErrBusy), a
//     message already in the log, and a retry of a message being appended (it waits for the first
//     attempt's outcome);
//   - the outcome of an append: acknowledgements and the evaluator's news (Appended), or the
//     failure's answers (ReplyErr: a fenced owner's also says cluster.ErrNotOwner), with the log
//     read back by the shell and a batch refused by a re-sync scheduled again, at most
//     MaxReschedules times per submit;
//   - the hand-over: StartHandover runs off the mailbox; meanwhile the core holds the requests
//     that need the activated state (bounded with the pending submits by MaxPending) and starts no
//     append; HandoverDone hands them back in their order of arrival, marked as having waited (a
//     failed hand-over is then answered, not retried for them); a stop refuses them with
//     ErrStopping;
//   - passivation: TryStop only when nothing is in flight, pending or held and the log is
//     evaluated (unless Config.LazyEval), and Stop once the lookup agreed.
//
// The shell (actors/process.go) keeps what needs the outside world: the store's reads (load,
// HasMessage, the fork record), the spawn's writes, the append and hand-over goroutines, the
// evaluator child, the crons and the replies. testdata/*.txt are scripted runs of the core
// (TestScripts); go test -rewrite writes their expected output anew.
package grain
