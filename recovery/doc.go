// Package recovery reads a process back from Arweave alone and checks it: the Log-Batch items the
// flusher wrote (arweave/FORMAT.md) in nonce order, every item's signature, the assignment hash
// chain from the process's seed, that every assignment is signed by the process's Scheduler and that
// epochs never go back; the module; and the newest checkpoint (memory against its SHA-256 tag, its
// Hash-Chain tag against the log). Recover writes what it read into a persistence.Store so that a
// node with an empty data folder continues the process after the last flushed nonce; Walk is the
// same read for callers that only want the entries (actorweave verify).
//
// Recoverer is recovery on demand (flight.go): a node asked about a process it does not hold
// rebuilds it once for all concurrent askers, remembers for a while what the gateway does not
// have, and in a cluster asks the process's owner to recover it there (op OpRecover) instead of
// rebuilding it itself.
//
// It owns the reading, the checks and that orchestration, not the transport: a Source gives it
// batches, fields and data (Gateway adapts an arweave.Reader), the caller says who owns a process
// and gives the cluster's Forwarder. It must not evaluate anything, must not write anything before
// the data it writes has been checked, and must not decide placement or answer API requests.
package recovery
