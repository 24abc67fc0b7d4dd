// Package recovery reads a process back from Arweave alone and checks it: the Log-Batch items the
// flusher wrote (arweave/FORMAT.md) in nonce order, every item's signature, the assignment hash
// chain from the process's seed, that every assignment is signed by the process's Scheduler and that
// epochs never go back; the module; and the newest checkpoint (memory against its SHA-256 tag, its
// Hash-Chain tag against the log). Recover writes what it read into a persistence.Store so that a
// node with an empty data folder continues the process after the last flushed nonce; Walk is the
// same read for callers that only want the entries (actorweave verify).
//
// Recovery on demand for a node (one recovery per process for all concurrent askers, asking the
// owner in a cluster) is the subpackage ondemand, so that this package, which verify uses, does
// not import the cluster's transport.
//
// It owns the reading and the checks, not the transport: a Source gives it batches, fields and data
// (Gateway adapts an arweave.Reader). It must not evaluate anything, must not write anything before
// the data it writes has been checked, and must not decide placement, answer API requests or
// import the cluster packages.
package recovery
