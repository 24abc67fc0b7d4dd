package persistence

// ID is a 32-byte AO identifier (process, module, message or assignment id, hash-chain link) in raw
// form. It is an alias so that ans104.ID and other [32]byte types assign to it without conversion.
type ID = [32]byte

// Tag is one name/value pair of a data item, kept as given (order and duplicates preserved).
type Tag struct {
	Name, Value string
}

// Process is a registry record. The store keeps the raw signed process item and the fields the
// scheduler and the read API need without re-parsing it; it does not parse Item itself.
type Process struct {
	ID       ID
	ModuleID ID
	Owner    []byte // raw owner (public key) bytes of the process item
	Tags     []Tag
	Item     []byte // raw signed process data item
	// Timestamp (ms) and BlockHeight are the SU's clock and Arweave height when it was spawned; the SU
	// Process JSON serves them as `timestamp` and `block`.
	Timestamp   int64
	BlockHeight uint64
	// Epoch is the ownership epoch: the value given to PutProcess, raised only by SetEpoch.
	Epoch uint64
}

// Entry is one slot of a process's log: the assignment at Nonce and, unless it is an assignment-only
// entry (the assign flow, or the process's own AOP-6 assignment), the message it orders.
type Entry struct {
	Process     ID
	Nonce       uint64
	Epoch       uint64
	Timestamp   int64 // ms
	BlockHeight uint64
	// HashChain is HC_n = SHA-256(prev assignment id ‖ HC_{n-1}); HC_0 = SHA-256(process id).
	HashChain    ID
	AssignmentID ID
	Assignment   []byte // raw signed assignment data item
	// MessageID is the id in the assignment's Message tag; zero only for the process's own assignment.
	MessageID ID
	// Message is the raw message data item; nil (or empty) for an assignment-only entry.
	Message []byte
}

// Location is where an id sits: a process and a nonce in its log.
type Location struct {
	Process ID
	Nonce   uint64
}
