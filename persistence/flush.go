package persistence

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// What the Arweave flush keeps (the flusher itself lives in package flush; this file only makes its
// progress durable, so persistence stays free of HTTP):
//
//	'f' pid                  -> flush cursor: the number of log entries of pid on Arweave, 8 bytes
//	'u'                      -> the upload in flight (one at a time): its signed bytes and what it
//	                            carries, written before it is posted (see FlushRecord)
//	'q' 'i' ts id            -> empty: a standalone item not yet uploaded (written by PutItem)
//	'q' 'c' pid nonce        -> empty: a checkpoint not yet uploaded (written by PutCheckpoint)
//	'q' 'r' pid nonce        -> a result certificate not yet uploaded (opaque bytes, written by
//	                            CommitEvaluation in the evaluation's own batch)
//
// Exactly-once: the flusher writes the signed upload as the in-flight record before posting it and
// completes it (cursors advanced, queue keys deleted, record removed) in one batch after the
// gateway or bundler has it. After a crash it finds the record and either completes it (the upload
// is already there) or posts the same bytes again; it never signs a second upload for a range.
const (
	prefixFlushCursor = 'f'
	prefixInFlight    = 'u'
	prefixFlushQueue  = 'q'

	queueItem        = 'i'
	queueCheckpoint  = 'c'
	queueCertificate = 'r'
)

func flushCursorKey(pid ID) []byte { return append([]byte{prefixFlushCursor}, pid[:]...) }
func inFlightKey() []byte          { return []byte{prefixInFlight} }
func queueItemKey(ts int64, id ID) []byte {
	return withTSID([]byte{prefixFlushQueue, queueItem}, ts, id)
}
func queueCheckpointKey(pid ID, nonce uint64) []byte {
	k := append([]byte{prefixFlushQueue, queueCheckpoint}, pid[:]...)
	return binary.BigEndian.AppendUint64(k, nonce)
}
func queueCertificateKey(pid ID, nonce uint64) []byte {
	k := append([]byte{prefixFlushQueue, queueCertificate}, pid[:]...)
	return binary.BigEndian.AppendUint64(k, nonce)
}

// FlushRange is a contiguous range of one process's log, nonces From..To inclusive.
type FlushRange struct {
	Process  ID
	From, To uint64
}

// QueuedItem is a standalone item waiting for upload: its id and its queue position.
type QueuedItem struct {
	ID        ID
	Timestamp int64
}

// QueuedCheckpoint is a checkpoint waiting for upload.
type QueuedCheckpoint struct {
	Process ID
	Nonce   uint64
}

// FlushRecord is one upload: the signed bytes (opaque here: the arweave package's encoding) and
// what completing it advances.
type FlushRecord struct {
	Upload      []byte
	Logs        []FlushRange
	Items       []QueuedItem
	Checkpoints []QueuedCheckpoint
	// Certificates are the ranges of queued result certificates the upload carries (a range may
	// have holes: only queued nonces are in it).
	Certificates []FlushRange
}

// flushRecordVersion 2 added Certificates; version 1 records (written before) still decode.
const flushRecordVersion = 2

func encodeFlushRecord(r *FlushRecord) []byte {
	b := make([]byte, 0, len(r.Upload)+64+len(r.Logs)*48+len(r.Items)*40+len(r.Checkpoints)*40+len(r.Certificates)*48)
	b = append(b, flushRecordVersion)
	b = appendBytes(b, r.Upload)
	b = binary.AppendUvarint(b, uint64(len(r.Logs)))
	for _, l := range r.Logs {
		b = append(b, l.Process[:]...)
		b = binary.AppendUvarint(b, l.From)
		b = binary.AppendUvarint(b, l.To)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Items)))
	for _, it := range r.Items {
		b = append(b, it.ID[:]...)
		b = binary.AppendVarint(b, it.Timestamp)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Checkpoints)))
	for _, c := range r.Checkpoints {
		b = append(b, c.Process[:]...)
		b = binary.AppendUvarint(b, c.Nonce)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Certificates)))
	for _, l := range r.Certificates {
		b = append(b, l.Process[:]...)
		b = binary.AppendUvarint(b, l.From)
		b = binary.AppendUvarint(b, l.To)
	}
	return b
}

func decodeFlushRecord(v []byte) (*FlushRecord, error) {
	r := reader{b: v}
	version := r.byte("flush record version")
	if version != 1 && version != flushRecordVersion {
		return nil, newErr(ErrCorrupt, "flush record version")
	}
	rec := &FlushRecord{Upload: r.bytes("flush upload")}
	n := r.uvarint("flush ranges")
	for i := uint64(0); i < n && r.err == nil; i++ {
		l := FlushRange{Process: r.id("flush range process")}
		l.From, l.To = r.uvarint("flush range from"), r.uvarint("flush range to")
		rec.Logs = append(rec.Logs, l)
	}
	n = r.uvarint("flush items")
	for i := uint64(0); i < n && r.err == nil; i++ {
		rec.Items = append(rec.Items, QueuedItem{ID: r.id("flush item"), Timestamp: r.varint("flush item ts")})
	}
	n = r.uvarint("flush checkpoints")
	for i := uint64(0); i < n && r.err == nil; i++ {
		rec.Checkpoints = append(rec.Checkpoints, QueuedCheckpoint{Process: r.id("flush checkpoint"), Nonce: r.uvarint("flush checkpoint nonce")})
	}
	if version >= 2 {
		n = r.uvarint("flush certificates")
		for i := uint64(0); i < n && r.err == nil; i++ {
			l := FlushRange{Process: r.id("flush certificate process")}
			l.From, l.To = r.uvarint("flush certificate from"), r.uvarint("flush certificate to")
			rec.Certificates = append(rec.Certificates, l)
		}
	}
	if r.err != nil {
		return nil, newErr(ErrCorrupt, "flush record: "+r.err.Error())
	}
	return rec, nil
}

// FlushCursor is the number of entries of pid's log already on Arweave (the next nonce to flush).
func (s *Store) FlushCursor(pid ID) (uint64, error) {
	done, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	return s.flushCursor(pid)
}

func (s *Store) flushCursor(pid ID) (uint64, error) {
	v, ok, err := s.get(flushCursorKey(pid))
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, newErr(ErrCorrupt, "flush cursor of process "+b64(pid))
	}
	return binary.BigEndian.Uint64(v), nil
}

// dirtySet holds the processes appended to since the flusher last asked, so that FlushBacklog
// visits those instead of every registered process (a scan of 10,000 processes took ~0.3 s on
// this 2-core machine: too much for every --flush-interval). full asks for one scan of the whole
// registry: after Open, nothing is known.
type dirtySet struct {
	mu   sync.Mutex
	m    map[ID]struct{}
	full bool
}

func (d *dirtySet) add(pid ID) {
	d.mu.Lock()
	if d.m == nil {
		d.m = map[ID]struct{}{}
	}
	d.m[pid] = struct{}{}
	d.mu.Unlock()
}

// take empties the set and returns what it held.
func (d *dirtySet) take() (pids map[ID]struct{}, full bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pids, full, d.m, d.full = d.m, d.full, nil, false
	return pids, full
}

// FlushBacklog calls fn for every registered process whose log has entries not yet flushed, with
// the flush cursor and the log length. The first call after Open scans the registry; later calls
// visit only the processes appended to since, and those that still had a backlog last time.
func (s *Store) FlushBacklog(fn func(pid ID, flushed, length uint64) bool) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	pids, full := s.flushDirty.take()
	if full {
		if pids, err = s.allProcesses(); err != nil {
			s.flushDirty.mu.Lock()
			s.flushDirty.full = true
			s.flushDirty.mu.Unlock()
			return err
		}
	}
	ordered := make([]ID, 0, len(pids))
	for pid := range pids {
		ordered = append(ordered, pid)
	}
	sort.Slice(ordered, func(i, j int) bool { return bytes.Compare(ordered[i][:], ordered[j][:]) < 0 })
	stopped := false
	for _, pid := range ordered {
		if stopped {
			s.flushDirty.add(pid) // not visited: keep it for next time
			continue
		}
		last, ok, err := s.lastEntry(pid)
		if err == nil && ok {
			var flushed uint64
			if flushed, err = s.flushCursor(pid); err == nil && flushed <= last.Nonce {
				s.flushDirty.add(pid) // still behind until an upload completes
				stopped = !fn(pid, flushed, last.Nonce+1)
			}
		}
		if err != nil {
			s.flushDirty.add(pid)
			return err
		}
	}
	return nil
}

// allProcesses lists every registered process (the epoch records).
func (s *Store) allProcesses() (map[ID]struct{}, error) {
	p := []byte{prefixEpoch}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := map[ID]struct{}{}
	for ok := it.First(); ok; ok = it.Next() {
		if k := it.Key(); len(k) == 1+idLen {
			var pid ID
			copy(pid[:], k[1:])
			out[pid] = struct{}{}
		}
	}
	return out, it.Error()
}

// QueuedItems returns up to limit standalone items waiting for upload, oldest first.
func (s *Store) QueuedItems(limit int) ([]QueuedItem, error) {
	return scanQueue(s, queueItem, 8+idLen, "item flush queue key", limit, func(k, _ []byte) QueuedItem {
		q := QueuedItem{Timestamp: int64(binary.BigEndian.Uint64(k[:8]) ^ (1 << 63))}
		copy(q.ID[:], k[8:])
		return q
	})
}

// QueuedCheckpoints returns up to limit checkpoints waiting for upload, by process then nonce.
func (s *Store) QueuedCheckpoints(limit int) ([]QueuedCheckpoint, error) {
	return scanQueue(s, queueCheckpoint, idLen+8, "checkpoint flush queue key", limit, func(k, _ []byte) QueuedCheckpoint {
		var q QueuedCheckpoint
		copy(q.Process[:], k)
		q.Nonce = binary.BigEndian.Uint64(k[idLen:])
		return q
	})
}

// QueuedCertificate is a result certificate waiting for upload: its place and its bytes.
type QueuedCertificate struct {
	Process ID
	Nonce   uint64
	Data    []byte
}

// QueuedCertificates returns up to limit result certificates waiting for upload, by process then
// nonce.
func (s *Store) QueuedCertificates(limit int) ([]QueuedCertificate, error) {
	return scanQueue(s, queueCertificate, idLen+8, "certificate flush queue key", limit, func(k, v []byte) QueuedCertificate {
		q := QueuedCertificate{Nonce: binary.BigEndian.Uint64(k[idLen:]), Data: append([]byte(nil), v...)}
		copy(q.Process[:], k)
		return q
	})
}

// scanQueue reads up to limit entries of one upload queue in key order; every key after the
// queue's prefix must be keyLen bytes (else the store is corrupt: what names the key). decode gets
// the key after the prefix and the value, both valid only during the call.
func scanQueue[T any](s *Store, queue byte, keyLen int, what string, limit int, decode func(k, v []byte) T) ([]T, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	p := []byte{prefixFlushQueue, queue}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []T
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		k := it.Key()[len(p):]
		if len(k) != keyLen {
			return nil, newErr(ErrCorrupt, what)
		}
		out = append(out, decode(k, it.Value()))
	}
	return out, it.Error()
}

// StoredCheckpoint is a checkpoint as stored: its metadata and the zstd-compressed memory.
type StoredCheckpoint struct {
	Checkpoint        // Memory is nil
	Size       uint64 // uncompressed bytes
	Compressed []byte // zstd frame, exactly as stored
}

// CheckpointAt returns the stored (compressed) checkpoint of pid at nonce, or ErrNotFound.
func (s *Store) CheckpointAt(pid ID, nonce uint64) (*StoredCheckpoint, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	v, ok, err := s.get(checkpointKey(pid, nonce))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, newErr(ErrNotFound, fmt.Sprintf("checkpoint %d of process %s", nonce, b64(pid)))
	}
	cp := &StoredCheckpoint{Checkpoint: Checkpoint{Process: pid, Nonce: nonce}}
	r := reader{b: v}
	if r.byte("checkpoint version") != 1 {
		return nil, newErr(ErrCorrupt, "checkpoint version")
	}
	cp.Timestamp = r.varint("checkpoint timestamp")
	cp.BlockHeight = r.uvarint("checkpoint block height")
	cp.SHA256 = r.id("checkpoint sha256")
	cp.Size = r.uvarint("checkpoint size")
	if r.err != nil {
		return nil, newErr(ErrCorrupt, "checkpoint: "+r.err.Error())
	}
	cp.Compressed = r.b
	return cp, nil
}

// PutFlushInFlight records the upload about to be posted, durably. There is at most one: a second
// put while one is recorded is refused (the flusher must complete the first).
func (s *Store) PutFlushInFlight(ctx context.Context, rec *FlushRecord) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	if ok, err := s.has(inFlightKey()); err != nil || ok {
		if err == nil {
			err = newErr(ErrInvalid, "an upload is already in flight")
		}
		return err
	}
	b := s.db.NewBatch()
	_ = b.Set(inFlightKey(), encodeFlushRecord(rec), nil)
	return s.commit(b)
}

// FlushInFlight returns the recorded upload, if any.
func (s *Store) FlushInFlight() (*FlushRecord, bool, error) {
	done, err := s.enter()
	if err != nil {
		return nil, false, err
	}
	defer done()
	rec, err := s.inFlight()
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	return rec, err == nil, err
}

// inFlight reads the recorded upload (ErrNotFound: none); the caller holds s.enter.
func (s *Store) inFlight() (*FlushRecord, error) {
	v, ok, err := s.get(inFlightKey())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, newErr(ErrNotFound, "no upload in flight")
	}
	return decodeFlushRecord(v)
}

// CompleteFlush records that the in-flight upload is on Arweave: in one durable batch it advances
// each range's flush cursor to To+1, removes the uploaded items and checkpoints (and any older
// queued checkpoint of the same process) from the queue, and deletes the in-flight record. A range
// that does not start at its process's cursor is refused with ErrNonceGap (ranges are contiguous).
func (s *Store) CompleteFlush(ctx context.Context) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	rec, err := s.inFlight()
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	for _, l := range rec.Logs {
		cur, err := s.flushCursor(l.Process)
		if err != nil {
			b.Close()
			return err
		}
		if cur != l.From || l.To < l.From {
			b.Close()
			return newErr(ErrNonceGap, fmt.Sprintf("flush of %s entries %d..%d: cursor is %d", b64(l.Process), l.From, l.To, cur))
		}
		_ = b.Set(flushCursorKey(l.Process), binary.BigEndian.AppendUint64(nil, l.To+1), nil)
	}
	for _, it := range rec.Items {
		_ = b.Delete(queueItemKey(it.Timestamp, it.ID), nil)
	}
	for _, c := range rec.Checkpoints {
		// Older checkpoints of the process were superseded by this one.
		_ = b.DeleteRange(queueCheckpointKey(c.Process, 0), upperAfter(queueCheckpointKey(c.Process, c.Nonce)), nil)
	}
	for _, c := range rec.Certificates {
		_ = b.DeleteRange(queueCertificateKey(c.Process, c.From), upperAfter(queueCertificateKey(c.Process, c.To)), nil)
	}
	_ = b.Delete(inFlightKey(), nil)
	return s.commit(b)
}

// ReplaceFlushUpload swaps the signed bytes of the upload in flight, keeping what it covers: for a
// new L1 envelope around the same data items, when the recorded transaction can no longer be posted.
func (s *Store) ReplaceFlushUpload(ctx context.Context, upload []byte) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	rec, err := s.inFlight()
	if err != nil {
		return err
	}
	rec.Upload = upload
	b := s.db.NewBatch()
	_ = b.Set(inFlightKey(), encodeFlushRecord(rec), nil)
	return s.commit(b)
}
