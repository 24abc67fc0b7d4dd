package persistence

import (
	"encoding/binary"
	"fmt"
)

// Record encodings. The first byte is a format version so that a later change can read old records.
const (
	entryV1   = 1
	processV1 = 1

	entryHasMessage = 1 << 0
)

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func encodeEntry(e *Entry) []byte {
	n := 3 + 3*binary.MaxVarintLen64 + 3*idLen + 2*binary.MaxVarintLen64 + len(e.Assignment) + len(e.Message)
	b := make([]byte, 0, n)
	var flags byte
	if len(e.Message) > 0 {
		flags |= entryHasMessage
	}
	b = append(b, entryV1, flags)
	b = binary.AppendUvarint(b, e.Epoch)
	b = binary.AppendVarint(b, e.Timestamp)
	b = binary.AppendUvarint(b, e.BlockHeight)
	b = append(b, e.HashChain[:]...)
	b = append(b, e.AssignmentID[:]...)
	b = append(b, e.MessageID[:]...)
	b = appendBytes(b, e.Assignment)
	if flags&entryHasMessage != 0 {
		b = appendBytes(b, e.Message)
	}
	return b
}

// reader decodes a record, remembering the first failure so callers check once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated or malformed %s", what)
	}
}

func (r *reader) byte(what string) byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail(what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) id(what string) (id ID) {
	if r.err != nil || len(r.b) < idLen {
		r.fail(what)
		return id
	}
	copy(id[:], r.b)
	r.b = r.b[idLen:]
	return id
}

// bytes copies, because Pebble's value buffers are only valid until the next operation.
func (r *reader) bytes(what string) []byte {
	n := r.uvarint(what)
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail(what)
		return nil
	}
	v := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return v
}

func decodeEntry(pid ID, nonce uint64, b []byte) (Entry, error) {
	r := reader{b: b}
	e := Entry{Process: pid, Nonce: nonce}
	if v := r.byte("version"); r.err == nil && v != entryV1 {
		return e, newErr(ErrCorrupt, fmt.Sprintf("entry %s/%d has unknown version %d", b64(pid), nonce, v))
	}
	flags := r.byte("flags")
	e.Epoch = r.uvarint("epoch")
	e.Timestamp = r.varint("timestamp")
	e.BlockHeight = r.uvarint("block height")
	e.HashChain = r.id("hash chain")
	e.AssignmentID = r.id("assignment id")
	e.MessageID = r.id("message id")
	e.Assignment = r.bytes("assignment")
	if flags&entryHasMessage != 0 {
		e.Message = r.bytes("message")
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("entry (trailing bytes)")
	}
	if r.err != nil {
		return e, newErr(ErrCorrupt, fmt.Sprintf("entry %s/%d: %v", b64(pid), nonce, r.err))
	}
	return e, nil
}

func encodeProcess(p *Process) []byte {
	n := 1 + idLen + 4*binary.MaxVarintLen64 + len(p.Owner) + len(p.Item)
	for _, t := range p.Tags {
		n += 2*binary.MaxVarintLen64 + len(t.Name) + len(t.Value)
	}
	b := make([]byte, 0, n)
	b = append(b, processV1)
	b = append(b, p.ModuleID[:]...)
	b = binary.AppendVarint(b, p.Timestamp)
	b = binary.AppendUvarint(b, p.BlockHeight)
	b = appendBytes(b, p.Owner)
	b = binary.AppendUvarint(b, uint64(len(p.Tags)))
	for _, t := range p.Tags {
		b = appendBytes(b, []byte(t.Name))
		b = appendBytes(b, []byte(t.Value))
	}
	return appendBytes(b, p.Item)
}

func decodeProcess(pid ID, b []byte) (Process, error) {
	r := reader{b: b}
	p := Process{ID: pid}
	if v := r.byte("version"); r.err == nil && v != processV1 {
		return p, newErr(ErrCorrupt, fmt.Sprintf("process %s has unknown version %d", b64(pid), v))
	}
	p.ModuleID = r.id("module id")
	p.Timestamp = r.varint("timestamp")
	p.BlockHeight = r.uvarint("block height")
	p.Owner = r.bytes("owner")
	nt := r.uvarint("tag count")
	if r.err == nil && nt > uint64(len(r.b)) { // each tag takes at least 2 bytes: refuse absurd counts
		r.fail("tag count")
	}
	for i := uint64(0); i < nt && r.err == nil; i++ {
		name := r.bytes("tag name")
		value := r.bytes("tag value")
		p.Tags = append(p.Tags, Tag{Name: string(name), Value: string(value)})
	}
	p.Item = r.bytes("process item")
	if r.err == nil && len(r.b) != 0 {
		r.fail("process (trailing bytes)")
	}
	if r.err != nil {
		return p, newErr(ErrCorrupt, fmt.Sprintf("process %s: %v", b64(pid), r.err))
	}
	return p, nil
}
