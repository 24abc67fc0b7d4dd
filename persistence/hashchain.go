package persistence

import "github.com/actorweave/actorweave/scheduler"

// FirstHashChain is HC_0, the hash chain of a process's first log entry (scheduler.Seed). The store
// checks the chain on every append; the formula itself is the scheduler's.
func FirstHashChain(pid ID) ID { return scheduler.Seed(pid) }

// NextHashChain is HC_n = SHA-256(raw previous assignment id ‖ raw HC_{n-1}) (scheduler.Link).
func NextHashChain(prevAssignmentID, prevHashChain ID) ID {
	return scheduler.Link(prevAssignmentID, prevHashChain)
}
