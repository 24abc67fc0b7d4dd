package persistence

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/klauspost/compress/zstd"
)

// What evaluation leaves behind (the compute and messenger roles), next to the log:
//
//	'v' pid                  -> evaluation cursor: the number of log entries evaluated, 8 bytes
//	'r' pid nonce            -> result of evaluating entry nonce (opaque bytes, the actors' encoding)
//	'o' pid nonce seq        -> a push not yet delivered (outbox item, spawn, assignment)
//	'c' pid nonce            -> checkpoint: the memory after entry nonce, zstd-compressed
//
// A result, its pushes and the cursor are written in one batch: either the evaluation happened with
// all its effects recorded, or not at all (docs/design.md invariant 5).
const (
	prefixCursor     = 'v'
	prefixResult     = 'r'
	prefixOutbox     = 'o'
	prefixCheckpoint = 'c'
)

func cursorKey(pid ID) []byte    { return append([]byte{prefixCursor}, pid[:]...) }
func resultPrefix(pid ID) []byte { return append([]byte{prefixResult}, pid[:]...) }
func resultKey(pid ID, nonce uint64) []byte {
	return binary.BigEndian.AppendUint64(resultPrefix(pid), nonce)
}
func outboxPrefix() []byte { return []byte{prefixOutbox} }
func outboxKey(pid ID, nonce uint64, seq uint32) []byte {
	k := binary.BigEndian.AppendUint64(append([]byte{prefixOutbox}, pid[:]...), nonce)
	return binary.BigEndian.AppendUint32(k, seq)
}
func checkpointPrefix(pid ID) []byte { return append([]byte{prefixCheckpoint}, pid[:]...) }
func checkpointKey(pid ID, nonce uint64) []byte {
	return binary.BigEndian.AppendUint64(checkpointPrefix(pid), nonce)
}

// Push is one effect of an evaluation still to be delivered.
type Push struct {
	Kind    uint8 // the messenger's kind (message, spawn, spawned notice, assignment)
	Target  ID    // the process that receives it
	Message ID    // for an assignment: the message to assign
	Item    []byte
	Exclude []string
}

// PendingPush is a persisted push: the evaluation it came from and its place in that outbox.
type PendingPush struct {
	Process ID
	Nonce   uint64
	Seq     uint32
	Push
}

// Evaluation is what evaluating one log entry produced.
type Evaluation struct {
	Process ID
	Nonce   uint64
	Result  []byte
	Pushes  []Push
	// Certificate, when set, is queued for the Arweave flush with the evaluation (the 'q' 'r'
	// queue of flush.go): the result certificate of this entry, opaque here.
	Certificate []byte
}

// CommitEvaluation records an evaluation, its pushes and the advanced cursor in one batch. It
// refuses an evaluation that is not the next one (the cursor must equal ev.Nonce): a process is
// evaluated once, in order. The batch is fsync'd when it carries pushes (they must be durable
// before they are delivered); a result alone is written without waiting, because it can always be
// recomputed from the log.
func (s *Store) CommitEvaluation(ctx context.Context, ev Evaluation) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	next, err := s.cursor(ev.Process)
	if err != nil {
		return err
	}
	if next != ev.Nonce {
		return newErr(ErrNonceGap, fmt.Sprintf("evaluation of entry %d of process %s: next to evaluate is %d", ev.Nonce, b64(ev.Process), next))
	}
	b := s.db.NewBatch()
	_ = b.Set(resultKey(ev.Process, ev.Nonce), ev.Result, nil)
	for i, p := range ev.Pushes {
		_ = b.Set(outboxKey(ev.Process, ev.Nonce, uint32(i)), encodePush(&p), nil)
	}
	if ev.Certificate != nil {
		_ = b.Set(queueCertificateKey(ev.Process, ev.Nonce), ev.Certificate, nil)
	}
	_ = b.Set(cursorKey(ev.Process), binary.BigEndian.AppendUint64(nil, ev.Nonce+1), nil)
	if len(ev.Pushes) == 0 {
		defer b.Close()
		return b.Commit(pebble.NoSync)
	}
	return s.commit(b)
}

// Evaluated is the number of entries of pid's log that have been evaluated.
func (s *Store) Evaluated(pid ID) (uint64, error) {
	done, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	return s.cursor(pid)
}

func (s *Store) cursor(pid ID) (uint64, error) {
	v, ok, err := s.get(cursorKey(pid))
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, newErr(ErrCorrupt, "evaluation cursor of process "+b64(pid))
	}
	return binary.BigEndian.Uint64(v), nil
}

// Result returns the stored result of entry nonce, or ErrNotFound if it was not evaluated yet.
func (s *Store) Result(pid ID, nonce uint64) ([]byte, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	v, ok, err := s.get(resultKey(pid, nonce))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, newErr(ErrNotFound, fmt.Sprintf("result of entry %d of process %s", nonce, b64(pid)))
	}
	return v, nil
}

// StoredResult is one result with its nonce.
type StoredResult struct {
	Nonce  uint64
	Result []byte
}

// Results visits the results of pid with nonces in [from, to], ascending or descending, calling fn
// until it returns false.
func (s *Store) Results(pid ID, from, to uint64, desc bool, fn func(StoredResult) bool) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	if to < from {
		return nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: resultKey(pid, from), UpperBound: upperAfter(resultKey(pid, to))})
	if err != nil {
		return err
	}
	defer it.Close()
	valid := it.First()
	if desc {
		valid = it.Last()
	}
	for ; valid; valid = step(it, desc) {
		k := it.Key()
		r := StoredResult{Nonce: binary.BigEndian.Uint64(k[len(k)-8:]), Result: append([]byte(nil), it.Value()...)}
		if !fn(r) {
			break
		}
	}
	return it.Error()
}

func step(it *pebble.Iterator, desc bool) bool {
	if desc {
		return it.Prev()
	}
	return it.Next()
}

// upperAfter is the exclusive upper bound just after key k.
func upperAfter(k []byte) []byte { return append(append([]byte(nil), k...), 0) }

// PendingPushes returns up to limit undelivered pushes in key order (by process, then evaluation
// order), starting after the given one (nil: from the start).
func (s *Store) PendingPushes(after *PendingPush, limit int) ([]PendingPush, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	lower := outboxPrefix()
	if after != nil {
		lower = upperAfter(outboxKey(after.Process, after.Nonce, after.Seq))
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(outboxPrefix())})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []PendingPush
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		k := it.Key()
		if len(k) != 1+idLen+8+4 {
			return nil, newErr(ErrCorrupt, "outbox key")
		}
		var p PendingPush
		copy(p.Process[:], k[1:1+idLen])
		p.Nonce = binary.BigEndian.Uint64(k[1+idLen:])
		p.Seq = binary.BigEndian.Uint32(k[1+idLen+8:])
		if err := decodePush(it.Value(), &p.Push); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, it.Error()
}

// Delivered removes a push once its target has it durably. It does not wait for fsync: if the
// deletion is lost in a crash the push is delivered again, and the receiver refuses the duplicate.
func (s *Store) Delivered(p PendingPush) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	return s.db.Delete(outboxKey(p.Process, p.Nonce, p.Seq), pebble.NoSync)
}

func encodePush(p *Push) []byte {
	b := make([]byte, 0, 2+2*idLen+len(p.Item)+16)
	b = append(b, 1, p.Kind)
	b = append(b, p.Target[:]...)
	b = append(b, p.Message[:]...)
	b = appendBytes(b, p.Item)
	b = binary.AppendUvarint(b, uint64(len(p.Exclude)))
	for _, e := range p.Exclude {
		b = appendBytes(b, []byte(e))
	}
	return b
}

func decodePush(v []byte, p *Push) error {
	r := reader{b: v}
	if r.byte("push version") != 1 {
		return newErr(ErrCorrupt, "push record version")
	}
	p.Kind = r.byte("push kind")
	p.Target = r.id("push target")
	p.Message = r.id("push message")
	p.Item = r.bytes("push item")
	n := r.uvarint("push excludes")
	for i := uint64(0); i < n && r.err == nil; i++ {
		p.Exclude = append(p.Exclude, string(r.bytes("push exclude")))
	}
	if r.err != nil {
		return newErr(ErrCorrupt, "push record: "+r.err.Error())
	}
	return nil
}

// Checkpoint is a process's linear memory after one log entry.
type Checkpoint struct {
	Process     ID
	Nonce       uint64
	Timestamp   int64
	BlockHeight uint64
	SHA256      [32]byte // of the uncompressed memory
	Memory      []byte   // uncompressed; PutCheckpoint compresses it with zstd
}

var (
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	zdecMu  sync.Mutex
	zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(4<<30))
)

// PutCheckpoint stores cp, compressed. It is written without fsync: a lost checkpoint only means a
// longer replay from the log.
func (s *Store) PutCheckpoint(cp Checkpoint) (compressed int, err error) {
	return s.putCheckpoint(cp, true)
}

// putCheckpoint stores cp; queue also queues it for upload (recovery stores what is on Arweave).
func (s *Store) putCheckpoint(cp Checkpoint, queue bool) (compressed int, err error) {
	done, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	z := zenc.EncodeAll(cp.Memory, nil)
	b := make([]byte, 0, 64+len(z))
	b = append(b, 1)
	b = binary.AppendVarint(b, cp.Timestamp)
	b = binary.AppendUvarint(b, cp.BlockHeight)
	b = append(b, cp.SHA256[:]...)
	b = binary.AppendUvarint(b, uint64(len(cp.Memory)))
	b = append(b, z...)
	batch := s.db.NewBatch()
	defer batch.Close()
	_ = batch.Set(checkpointKey(cp.Process, cp.Nonce), b, nil)
	if queue {
		_ = batch.Set(queueCheckpointKey(cp.Process, cp.Nonce), nil, nil) // for the Arweave flush (flush.go)
	}
	return len(z), batch.Commit(pebble.NoSync)
}

// LatestCheckpoint returns the newest checkpoint of pid at or before nonce atMost, decompressed and
// checked against its SHA-256; ErrNotFound if there is none.
func (s *Store) LatestCheckpoint(pid ID, atMost uint64) (*Checkpoint, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: checkpointPrefix(pid), UpperBound: upperAfter(checkpointKey(pid, atMost))})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return nil, err
		}
		return nil, newErr(ErrNotFound, "checkpoint of process "+b64(pid))
	}
	k := it.Key()
	cp := &Checkpoint{Process: pid, Nonce: binary.BigEndian.Uint64(k[len(k)-8:])}
	r := reader{b: it.Value()}
	if r.byte("checkpoint version") != 1 {
		return nil, newErr(ErrCorrupt, "checkpoint version")
	}
	cp.Timestamp = r.varint("checkpoint timestamp")
	cp.BlockHeight = r.uvarint("checkpoint block height")
	cp.SHA256 = r.id("checkpoint sha256")
	size := r.uvarint("checkpoint size")
	if r.err != nil {
		return nil, newErr(ErrCorrupt, "checkpoint: "+r.err.Error())
	}
	zdecMu.Lock()
	mem, err := zdec.DecodeAll(r.b, make([]byte, 0, size))
	zdecMu.Unlock()
	if err != nil || uint64(len(mem)) != size {
		return nil, newErr(ErrCorrupt, fmt.Sprintf("checkpoint %d of process %s does not decompress", cp.Nonce, b64(pid)))
	}
	if sha256.Sum256(mem) != cp.SHA256 {
		return nil, newErr(ErrCorrupt, fmt.Sprintf("checkpoint %d of process %s does not match its SHA-256", cp.Nonce, b64(pid)))
	}
	cp.Memory = mem
	return cp, nil
}
