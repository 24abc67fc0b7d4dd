package persistence

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Forks: two replicas of a process that hold different histories from some nonce on. The quorum
// lease makes that impossible for new writes, but an older bug's data may still carry one. Nothing
// here ever deletes a history: a tail that leaves the log goes to the archive first, in the same
// batch, so an operator can always inspect or recover it.
//
//	'X' pid archive nonce   -> an entry that left the log (encoded as in the log); archive numbers
//	                           count up per process, one per truncation or discard
//	'F' pid                 -> fork record: the process is refused until an operator resolves it
const (
	prefixArchive = 'X'
	prefixFork    = 'F'
)

func archivePrefix(pid ID) []byte { return append([]byte{prefixArchive}, pid[:]...) }
func archiveKey(pid ID, archive, nonce uint64) []byte {
	k := binary.BigEndian.AppendUint64(archivePrefix(pid), archive)
	return binary.BigEndian.AppendUint64(k, nonce)
}
func forkKey(pid ID) []byte { return append([]byte{prefixFork}, pid[:]...) }

// ForkRecord is what a node found when it could not settle two histories of one process.
type ForkRecord struct {
	Process ID
	// Nonce is the first nonce at which the histories differ.
	Nonce uint64
	// Node is the node that found the fork (this store's node), Peer the other replica.
	Node, Peer string
	// NodeCount and PeerCount are the log lengths of the two replicas when it was found.
	NodeCount, PeerCount uint64
	Reason               string
	Detected             time.Time
}

// Describe names the fork in words an operator can act on.
func (f *ForkRecord) Describe() string {
	return fmt.Sprintf("process %s has two histories from nonce %d: %s holds %d entries, %s holds %d (%s); resolve with `actorweave cluster resolve-fork %s --keep NODE`",
		b64(f.Process), f.Nonce, f.Node, f.NodeCount, f.Peer, f.PeerCount, f.Reason, b64(f.Process))
}

func encodeFork(f *ForkRecord) []byte {
	b := []byte{1}
	b = binary.AppendUvarint(b, f.Nonce)
	b = appendBytes(b, []byte(f.Node))
	b = appendBytes(b, []byte(f.Peer))
	b = binary.AppendUvarint(b, f.NodeCount)
	b = binary.AppendUvarint(b, f.PeerCount)
	b = appendBytes(b, []byte(f.Reason))
	return binary.AppendVarint(b, f.Detected.UnixMilli())
}

func decodeFork(pid ID, v []byte) (ForkRecord, error) {
	r := reader{b: v}
	f := ForkRecord{Process: pid}
	if r.byte("fork version") != 1 {
		return f, newErr(ErrCorrupt, "fork record version of process "+b64(pid))
	}
	f.Nonce = r.uvarint("fork nonce")
	f.Node = string(r.bytes("fork node"))
	f.Peer = string(r.bytes("fork peer"))
	f.NodeCount = r.uvarint("fork node count")
	f.PeerCount = r.uvarint("fork peer count")
	f.Reason = string(r.bytes("fork reason"))
	f.Detected = time.UnixMilli(r.varint("fork time"))
	if r.err != nil {
		return f, newErr(ErrCorrupt, "fork record of process "+b64(pid)+": "+r.err.Error())
	}
	return f, nil
}

// MarkForked records f durably. A process already marked keeps its first record: the first
// detection names the divergence point the operator has to look at, and a later attempt sees the
// same fork again.
func (s *Store) MarkForked(ctx context.Context, f ForkRecord) error {
	return s.withHead(ctx, f.Process, func(hd *head) (bool, error) {
		if _, ok, err := s.get(forkKey(f.Process)); err != nil || ok {
			return true, err
		}
		if f.Detected.IsZero() {
			f.Detected = time.Now()
		}
		b := s.db.NewBatch()
		_ = b.Set(forkKey(f.Process), encodeFork(&f), nil)
		return true, s.commit(b)
	})
}

// Fork returns pid's fork record; ok is false when the process is not forked here.
func (s *Store) Fork(pid ID) (f ForkRecord, ok bool, err error) {
	done, err := s.enter()
	if err != nil {
		return f, false, err
	}
	defer done()
	v, ok, err := s.get(forkKey(pid))
	if err != nil || !ok {
		return f, false, err
	}
	f, err = decodeFork(pid, v)
	return f, err == nil, err
}

// ClearFork removes pid's fork record (after an operator resolved it).
func (s *Store) ClearFork(ctx context.Context, pid ID) error {
	return s.withHead(ctx, pid, func(hd *head) (bool, error) {
		b := s.db.NewBatch()
		_ = b.Delete(forkKey(pid), nil)
		return true, s.commit(b)
	})
}

// Archive is one tail that left pid's log: by a truncation of an unacknowledged tail or by an
// operator's resolution of a fork.
type Archive struct {
	Number  uint64
	Entries []Entry
}

// Archives returns every archived tail of pid, oldest first.
func (s *Store) Archives(pid ID) ([]Archive, error) {
	done, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	p := archivePrefix(pid)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Archive
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(p)+16 {
			return nil, newErr(ErrCorrupt, "archive key of process "+b64(pid))
		}
		num, nonce := binary.BigEndian.Uint64(k[len(p):]), binary.BigEndian.Uint64(k[len(p)+8:])
		e, err := decodeEntry(pid, nonce, it.Value())
		if err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Number != num {
			out = append(out, Archive{Number: num})
		}
		out[len(out)-1].Entries = append(out[len(out)-1].Entries, e)
	}
	return out, it.Error()
}

// nextArchive is the number the next archived tail of pid gets.
func (s *Store) nextArchive(pid ID) (uint64, error) {
	p := archivePrefix(pid)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	k := it.Key()
	if len(k) != len(p)+16 {
		return 0, newErr(ErrCorrupt, "archive key of process "+b64(pid))
	}
	return binary.BigEndian.Uint64(k[len(p):]) + 1, nil
}

// archiveTail moves pid's entries [from, hd.count) from the log to a new archive in b, with their
// index keys, and returns the moved entries and the entry before from (zero if from is 0): the new
// head.
func (s *Store) archiveTail(b *pebble.Batch, pid ID, from uint64, hd *head) (moved []Entry, prev Entry, num uint64, err error) {
	if from > 0 {
		if prev, err = s.entryAt(pid, from-1); err != nil {
			return nil, prev, 0, err
		}
	}
	if num, err = s.nextArchive(pid); err != nil {
		return nil, prev, 0, err
	}
	for n := from; n < hd.count; n++ {
		v, ok, err := s.get(logKey(pid, n))
		if err != nil || !ok {
			return nil, prev, 0, fmt.Errorf("persistence: archive %s: entry %d: %v", b64(pid), n, err)
		}
		e, err := decodeEntry(pid, n, v)
		if err != nil {
			return nil, prev, 0, err
		}
		_ = b.Set(archiveKey(pid, num, n), v, nil)
		_ = b.Delete(logKey(pid, n), nil)
		_ = b.Delete(tsKey(pid, e.Timestamp, n), nil)
		_ = b.Delete(assignmentKey(e.AssignmentID), nil)
		if e.MessageID != (ID{}) {
			_ = b.Delete(msgKey(e.MessageID, pid), nil)
		}
		moved = append(moved, e)
	}
	return moved, prev, num, nil
}

func (s *Store) entryAt(pid ID, n uint64) (Entry, error) {
	v, ok, err := s.get(logKey(pid, n))
	if err != nil || !ok {
		return Entry{}, fmt.Errorf("persistence: process %s: entry %d: %v (found %v)", b64(pid), n, err, ok)
	}
	return decodeEntry(pid, n, v)
}

// Discarded is what DiscardFrom took out of the log.
type Discarded struct {
	Archive uint64  // the archive number the entries went to
	Entries []Entry // the entries, in nonce order
	// Evaluated is how many of them had been evaluated here (their results, pushes and checkpoints
	// were dropped with them).
	Evaluated uint64
}

// DiscardFrom is the operator's side of resolving a fork: it moves pid's log entries from nonce
// from on to a new archive, even when they were evaluated, and rolls evaluation back to match in
// the same batch: the cursor, the results, the undelivered pushes and the checkpoints of those
// entries go, and the Arweave flush cursor is lowered so the history that replaces them is
// uploaded. Unlike TruncateFrom it is never run by replication on its own: dropping evaluated
// entries is a decision, taken by whoever chose which history to keep. ErrStaleEpoch if epoch is
// below the process's (raised here if higher).
func (s *Store) DiscardFrom(ctx context.Context, pid ID, from, epoch uint64) (Discarded, error) {
	var out Discarded
	err := s.withHead(ctx, pid, func(hd *head) (bool, error) {
		switch {
		case !hd.exists:
			return true, newErr(ErrUnknownProcess, "discard the log of process "+b64(pid))
		case epoch < hd.epoch:
			return true, newErr(ErrStaleEpoch, fmt.Sprintf("discard the log of process %s from an owner at epoch %d: current epoch is %d", b64(pid), epoch, hd.epoch))
		}
		b := s.db.NewBatch()
		var prev Entry
		if from < hd.count {
			moved, p, num, err := s.archiveTail(b, pid, from, hd)
			if err != nil {
				b.Close()
				return true, err
			}
			out.Entries, out.Archive, prev = moved, num, p
		}
		ev, err := s.rollBackEvaluation(b, pid, from)
		if err != nil {
			b.Close()
			return true, err
		}
		out.Evaluated = ev
		if epoch > hd.epoch {
			_ = b.Set(epochKey(pid), binary.BigEndian.AppendUint64(nil, epoch), nil)
		}
		if err := s.commit(b); err != nil {
			return false, fmt.Errorf("persistence: discard %s from %d: %w", b64(pid), from, err)
		}
		hd.epoch = max(hd.epoch, epoch)
		if from < hd.count {
			hd.count, hd.lastHC, hd.lastAsgID = from, prev.HashChain, prev.AssignmentID
		}
		return true, nil
	})
	return out, err
}

// rollBackEvaluation adds to b what undoes the evaluation of pid's entries from nonce from on, and
// returns how many were evaluated.
func (s *Store) rollBackEvaluation(b *pebble.Batch, pid ID, from uint64) (uint64, error) {
	cur, err := s.cursor(pid)
	if err != nil {
		return 0, err
	}
	var evaluated uint64
	if cur > from {
		evaluated = cur - from
		_ = b.Set(cursorKey(pid), binary.BigEndian.AppendUint64(nil, from), nil)
	}
	outbox := append([]byte{prefixOutbox}, pid[:]...)
	queued := append([]byte{prefixFlushQueue, queueCheckpoint}, pid[:]...)
	certs := append([]byte{prefixFlushQueue, queueCertificate}, pid[:]...)
	for _, r := range [][2][]byte{
		{binary.BigEndian.AppendUint64(certs, from), prefixEnd(certs)},
		{resultKey(pid, from), prefixEnd(resultPrefix(pid))},
		{binary.BigEndian.AppendUint64(outbox, from), prefixEnd(outbox)},
		{checkpointKey(pid, from), prefixEnd(checkpointPrefix(pid))},
		{binary.BigEndian.AppendUint64(queued, from), prefixEnd(queued)},
	} {
		_ = b.DeleteRange(r[0], r[1], nil)
	}
	flushed, err := s.flushCursor(pid)
	if err != nil {
		return 0, err
	}
	if flushed > from {
		_ = b.Set(flushCursorKey(pid), binary.BigEndian.AppendUint64(nil, from), nil)
	}
	return evaluated, nil
}
