// Package warm runs short functions on goroutines that outlive them, so that a hot path does not
// pay for growing a fresh goroutine's stack every time.
//
// A new goroutine starts with a small stack (about the average of the process's goroutines) and
// copies it each time it doubles. A process grain's mailbox run, which Proto.Actor's default
// dispatcher starts on a new goroutine whenever an idle mailbox gets a message, signs assignments
// and appends through calls deep enough to grow its stack two or three times; so does each
// append's own goroutine. A profile of `actorweave bench cluster --nodes 1 --clients 64` showed
// runtime.newstack, almost all of it copystack, at about 10% of the node's CPU. A Pool hands each
// function to a goroutine parked after an earlier one, whose stack has already grown, and starts a
// new goroutine only when none is parked: it never queues, so it never delays or deadlocks what
// it runs, and it holds no more goroutines at any moment than `go fn()` would have.
//
// It owns its parked goroutines: each retires after an idle period, and Stop retires them all.
// It must not limit or order what it runs (callers that need a bound keep it themselves).
package warm
