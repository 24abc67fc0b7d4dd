// Package scheduler decides where each item goes in a process's log, as a pure function: from the
// previous assignment's state and the next item it computes the next Assignment (nonce, epoch,
// timestamp, block height, hash chain) exactly as the reference scheduler unit forms it
// (docs/protocol.md §2.3).
//
// It owns: nonce numbering for both modes (legacy, where the first message gets nonce 0, and
// process-assignment mode, where the process's own assignment is nonce 0), strictly increasing
// per-process timestamps, the hash chain and its verification, and the epoch fence as the scheduler
// sees it (a stale epoch is refused before anything is signed).
//
// It must not do I/O, read a clock or hold locks: the caller passes the clock and the block height
// in, signs the result (Sign), makes it durable (package persistence), and only then advances its
// state (Advance). That is what makes replay, verification and simulation cheap.
package scheduler
