// Package evaluation owns the one evaluation pipeline of a process's log: how a module instance is
// brought to the memory after entry n-1 (a checkpoint restored or a fresh boot, then the entries
// after it replayed), how an entry becomes the message its module receives (compute.EntryOf,
// compute.MessageJSON), and how one entry is evaluated, with the rule for a failure: an instance
// that fails makes the entry's result that error and is rebuilt from the log before the next
// entry, a WeaveDrive read that cannot be made now (runtime.ErrDriveUnavailable) is no result at
// all, and an evaluation cut short (the context ended, the engine closing) is neither.
//
// A node's evaluator (actors/evaluator.go) and verify (verify/verify.go) both evaluate through a
// Pipeline, so that "anyone can verify" rests on one copy of this code instead of two kept equal
// by hand (docs/design.md invariant 3: evaluation is deterministic, so a recomputation equals the
// node's only if both evaluate the same way).
//
// It must not read or write a store, the network or a clock: the caller gives it the log, the
// items an assignment-only entry names and its checkpoints through a Source, and keeps what it
// does with results (storing, certifying, pushing, comparing) to itself. It must not import the
// node's actors or cluster (verify uses it, and verify/deps_test.go keeps verify free of them).
package evaluation
