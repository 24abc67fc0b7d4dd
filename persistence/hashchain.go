package persistence

import "crypto/sha256"

// FirstHashChain is HC_0, the hash chain of a process's first log entry: SHA-256(raw process id)
// (ao-protocol.md §2.4).
func FirstHashChain(pid ID) ID { return sha256.Sum256(pid[:]) }

// NextHashChain is HC_n = SHA-256(raw previous assignment id ‖ raw HC_{n-1}).
func NextHashChain(prevAssignmentID, prevHashChain ID) ID {
	var buf [2 * idLen]byte
	copy(buf[:idLen], prevAssignmentID[:])
	copy(buf[idLen:], prevHashChain[:])
	return sha256.Sum256(buf[:])
}
