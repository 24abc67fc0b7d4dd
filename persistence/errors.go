package persistence

import (
	"encoding/base64"
	"errors"
)

// Sentinel errors. Every error the store returns for a refused write wraps exactly one of them, so
// callers branch with errors.Is while the message names the process, message or nonce involved.
var (
	// ErrNotFound: no such process, entry or id.
	ErrNotFound = errors.New("not found")
	// ErrProcessExists: PutProcess for an id that is already registered.
	ErrProcessExists = errors.New("process already exists")
	// ErrUnknownProcess: Append or SetEpoch for a process that was never registered.
	ErrUnknownProcess = errors.New("unknown process")
	// ErrMessageExists: the message id is already in this process's log; it never gets a second nonce.
	ErrMessageExists = errors.New("message already exists")
	// ErrAssignmentExists: the assignment id is already stored.
	ErrAssignmentExists = errors.New("assignment already exists")
	// ErrNonceGap: the entry's nonce is not exactly the process's last nonce + 1 (0 for the first).
	ErrNonceGap = errors.New("nonce out of sequence")
	// ErrStaleEpoch: the write carries an epoch lower than the process's current ownership epoch, or
	// SetEpoch tried to lower it.
	ErrStaleEpoch = errors.New("stale epoch")
	// ErrEpochAhead: the entry carries an epoch higher than the process's current one; the new owner
	// must fence with SetEpoch first, so that raising the epoch is an explicit, durable step.
	ErrEpochAhead = errors.New("epoch ahead of the process's epoch")
	// ErrHashChain: the entry's hash chain is not SHA-256(previous assignment id ‖ previous link).
	ErrHashChain = errors.New("hash chain mismatch")
	// ErrInvalid: a malformed argument (zero id, missing assignment bytes, bad scan bounds).
	ErrInvalid = errors.New("invalid argument")
	// ErrEvaluated: a truncation would drop entries already evaluated here. Evaluated entries were
	// acknowledged, so replication never drops them on its own; meeting one means two histories
	// (a fork) that only an operator may settle.
	ErrEvaluated = errors.New("entries are evaluated")
	// ErrForked: the process has two histories on its replicas (ForkRecord) and is refused until an
	// operator resolves the fork.
	ErrForked = errors.New("process history forked")
	// ErrLimit: an argument exceeds one of the Options limits.
	ErrLimit = errors.New("limit exceeded")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("store closed")
	// ErrCorrupt: stored bytes could not be decoded.
	ErrCorrupt = errors.New("corrupt record")
)

// Error is a refused operation: Kind is one of the sentinels above, Detail says which process,
// message or nonce was involved in words a person can act on.
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string { return "persistence: " + e.Detail + ": " + e.Kind.Error() }

// Unwrap lets errors.Is(err, ErrMessageExists) and friends work.
func (e *Error) Unwrap() error { return e.Kind }

func newErr(kind error, detail string) error { return &Error{Kind: kind, Detail: detail} }

// b64 renders an id the way AO does everywhere: base64url without padding, 43 characters.
func b64(id ID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }
