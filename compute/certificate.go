package compute

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"

	"github.com/actorweave/actorweave/runtime"
)

// A result certificate (arweave.Certified, arweave/FORMAT.md §6) is what the node commits to,
// signed, for one evaluated log entry: OutcomeHash of the module's answer and, on some entries, the
// hash of the memory after it. Anyone recomputing a process from Arweave can then hold the cluster
// to the answers it served, entry by entry; the node's evaluator and verify both hash here.

// OutcomeHash is the hash a certificate commits to for a module's answer: SHA-256 over a
// domain-separated, length-prefixed concatenation of Error, Output, Messages, Spawns and
// Assignments, exactly as the module produced them. GasUsed is left out, as verify leaves it out
// of the comparison with a node's result: it is a measurement of the run, not an effect.
func OutcomeHash(r *runtime.Result) [32]byte {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	list := func(l []json.RawMessage) {
		binary.BigEndian.PutUint64(n[:], uint64(len(l)))
		h.Write(n[:])
		for _, m := range l {
			field(m)
		}
	}
	h.Write([]byte("actorweave outcome 1\n"))
	field([]byte(r.Error))
	field(r.Output)
	list(r.Messages)
	list(r.Spawns)
	list(r.Assignments)
	var out [32]byte
	h.Sum(out[:0])
	return out
}
