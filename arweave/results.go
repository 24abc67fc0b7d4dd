package arweave

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/actorweave/actorweave/ans104"
)

// TypeResultBatch is the Actorweave-Type of a Result-Batch item (FORMAT.md §6): result
// certificates of one process, signed by the scheduler key.
const TypeResultBatch = "Result-Batch"

// ResultBatch builds the unsigned Result-Batch item of process pid: data is the concatenation of
// encoded certificates (package compute's encoding) of entries from..to, ascending, not
// necessarily every entry in between. Sign it with the scheduler key.
func ResultBatch(pid ans104.ID, from, to uint64, data []byte) (*ans104.DataItem, error) {
	if len(data) == 0 || to < from {
		return nil, fmt.Errorf("arweave: empty result batch of %s", pid)
	}
	tags := []ans104.Tag{
		{Name: TagAppName, Value: AppName},
		{Name: TagType, Value: TypeResultBatch},
		{Name: TagProcess, Value: pid.String()},
		{Name: TagFromNonce, Value: strconv.FormatUint(from, 10)},
		{Name: TagToNonce, Value: strconv.FormatUint(to, 10)},
		{Name: "Content-Type", Value: "application/octet-stream"},
		{Name: "Data-Protocol", Value: "ao"},
	}
	return ans104.NewItem(data, nil, nil, tags), nil
}

// ResultBatchRange reads a Result-Batch item's process and nonce range from its tags.
func ResultBatchRange(tags ans104.Tags) (pid ans104.ID, from, to uint64, err error) {
	return nonceRange(tags, TypeResultBatch, "result batch")
}

// Certified is the certificate of one evaluated entry.
type Certified struct {
	Nonce   uint64
	Outcome [32]byte // compute.OutcomeHash of the module's answer
	// Capped: the answer was larger than the node's --max-result-bytes, so the node served an
	// Error saying so instead of it (the Outcome is still the module's answer).
	Capped bool
	// Memory is the SHA-256 of the linear memory after the entry, when it was hashed.
	Memory *[32]byte
}

const (
	certFlagMemory = 1 << 0
	certFlagCapped = 1 << 1
	// CertifiedMinSize is the size of an encoded certificate without a memory hash.
	CertifiedMinSize = 8 + 1 + 32
)

// AppendBinary appends c's encoding: nonce (8 bytes, big-endian), flags (1 byte: bit 0 memory hash
// present, bit 1 capped), the outcome hash (32 bytes), the memory hash (32 bytes) if present.
func (c Certified) AppendBinary(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, c.Nonce)
	var flags byte
	if c.Memory != nil {
		flags |= certFlagMemory
	}
	if c.Capped {
		flags |= certFlagCapped
	}
	b = append(b, flags)
	b = append(b, c.Outcome[:]...)
	if c.Memory != nil {
		b = append(b, c.Memory[:]...)
	}
	return b
}

// ParseCertified reads a sequence of encoded certificates (a Result-Batch item's data). Nonces
// must ascend strictly; unknown flags are refused rather than guessed.
func ParseCertified(data []byte) ([]Certified, error) {
	var out []Certified
	for len(data) > 0 {
		if len(data) < CertifiedMinSize {
			return nil, fmt.Errorf("arweave: certificate %d: %d bytes left, a certificate takes at least %d", len(out), len(data), CertifiedMinSize)
		}
		c := Certified{Nonce: binary.BigEndian.Uint64(data)}
		flags := data[8]
		if flags&^(certFlagMemory|certFlagCapped) != 0 {
			return nil, fmt.Errorf("arweave: certificate of entry %d: unknown flags %#x", c.Nonce, flags)
		}
		c.Capped = flags&certFlagCapped != 0
		copy(c.Outcome[:], data[9:41])
		data = data[41:]
		if flags&certFlagMemory != 0 {
			if len(data) < 32 {
				return nil, fmt.Errorf("arweave: certificate of entry %d: memory hash cut short", c.Nonce)
			}
			var m [32]byte
			copy(m[:], data[:32])
			c.Memory = &m
			data = data[32:]
		}
		if n := len(out); n > 0 && out[n-1].Nonce >= c.Nonce {
			return nil, fmt.Errorf("arweave: certificates out of order: entry %d after %d", c.Nonce, out[n-1].Nonce)
		}
		out = append(out, c)
	}
	return out, nil
}
