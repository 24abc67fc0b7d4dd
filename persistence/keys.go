package persistence

import "encoding/binary"

// Key layout. One byte of prefix per family keeps keys short; every multi-byte number is big-endian
// so byte order is numeric order, which makes each hot read a forward range scan.
//
//	'p' pid                         -> process record (see codec.go)
//	'e' pid                         -> current ownership epoch, 8 bytes (kept apart from the process
//	                                   record so SetEpoch does not rewrite the process item)
//	'l' pid nonce                   -> log entry; one process's log is one contiguous range in nonce order
//	't' pid timestamp nonce         -> empty; timestamp index for the SU `from`/`to` reads
//	'm' msgid pid                   -> nonce, 8 bytes; dedup (Get) and ByMessageID (prefix scan)
//	'a' assignmentid                -> pid ‖ nonce
//	'E' pid                         -> epoch floor of a process this store does not hold, 8 bytes: the
//	                                   highest epoch a new owner fenced it with (RaiseEpoch); a later
//	                                   registration below it is refused (docs/design.md invariant 2)
//	'X' pid archive nonce           -> a log entry that left the log (truncated or discarded), kept for
//	                                   inspection and recovery (fork.go)
//	'F' pid                         -> fork record: two replicas hold different histories (fork.go)
//
// Other families live next to their code: 'v' 'r' 'o' 'c' (evaluation.go), 'f' 'u' 'q' (flush.go),
// 'K' (control.go), 'k' (cron.go), 'R' (recovered.go), 'i' 'g' 'w' (items.go), 'W' (weavedrive.go:
// the WeaveDrive cache by content id).
const (
	prefixProcess    = 'p'
	prefixEpoch      = 'e'
	prefixLog        = 'l'
	prefixTimestamp  = 't'
	prefixMessage    = 'm'
	prefixAssignment = 'a'
	prefixFloor      = 'E'
)

const idLen = 32

func processKey(pid ID) []byte { return append([]byte{prefixProcess}, pid[:]...) }
func epochKey(pid ID) []byte   { return append([]byte{prefixEpoch}, pid[:]...) }
func floorKey(pid ID) []byte   { return append([]byte{prefixFloor}, pid[:]...) }

// logPrefix is the common prefix of one process's log keys.
func logPrefix(pid ID) []byte { return append([]byte{prefixLog}, pid[:]...) }

func logKey(pid ID, nonce uint64) []byte {
	return binary.BigEndian.AppendUint64(logPrefix(pid), nonce)
}

func tsPrefix(pid ID) []byte { return append([]byte{prefixTimestamp}, pid[:]...) }

// tsKey orders timestamps numerically, negative ones included (the sign bit is flipped).
func tsKey(pid ID, ts int64, nonce uint64) []byte {
	k := binary.BigEndian.AppendUint64(tsPrefix(pid), uint64(ts)^(1<<63))
	return binary.BigEndian.AppendUint64(k, nonce)
}

func msgPrefix(msg ID) []byte { return append([]byte{prefixMessage}, msg[:]...) }
func msgKey(msg, pid ID) []byte {
	return append(msgPrefix(msg), pid[:]...)
}
func assignmentKey(id ID) []byte { return append([]byte{prefixAssignment}, id[:]...) }

// prefixEnd returns the smallest key greater than every key with prefix p (an exclusive upper bound).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}
