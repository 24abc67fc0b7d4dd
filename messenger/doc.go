// Package messenger holds the messenger unit's pure functions: turning the outbox of an evaluation
// (its Messages, Spawns and Assignments) into the data items and assignments to push, with tags
// rewritten as the reference messenger does (docs/protocol.md §3.1), and signed by the
// node key.
//
// Every item it makes is a function of the source message, its position in the outbox and the node
// key (ed25519 signatures are deterministic), and the caller persists the items in the same batch
// as the result before delivering any: that is what makes pushes exactly-once (docs/design.md
// invariant 5).
//
// It must not deliver, store or evaluate anything.
package messenger
