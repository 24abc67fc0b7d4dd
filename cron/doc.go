// Package cron is the pure core of AO crons in actorweave: it parses a process's Cron-Interval and
// Cron-Tag-* tags (as the reference compute unit does, servers/cu loadMessages.js parseCrons),
// computes when ticks fall (the reference rule), and builds and recognises tick messages.
//
// Unlike the reference compute unit, which generates cron messages inside the evaluation stream and
// never stores them, actorweave makes each tick an ordinary assignment in the process's log: a data
// item signed by the node key and scheduled like any message. Replay and verification then need no
// clock and no block list: the log alone reproduces every evaluation.
//
// When ticks fall (the reference rule): a time cron of every s seconds fires at every whole second
// t with (t - origin) mod s == 0 and t != origin, where origin is the process's timestamp in whole
// seconds; a block cron of every n blocks fires at every height h with (h - originHeight) mod n == 0
// and h != originHeight. Tick k (k >= 1) of a cron is therefore due at origin + k*s seconds (or
// height originHeight + k*n); k is the tick's sequence number.
//
// A tick is identified by (process, cron index, sequence). Its item is a function of those and of
// the process (tags, anchor, empty data), so with a deterministic signature (the default ed25519
// node key) a tick generated twice is the same item, with the same id, and the log refuses the
// second copy. With an RSA node key (RSA-PSS is salted) the bytes differ; the process actor's tick
// cursor (the last sequence per cron, rebuilt from the log) is what refuses it then. Either way a
// tick is never doubled.
//
// It must not do I/O, read a clock or know about actors: callers pass the time and the height in.
package cron
