package persistence

import (
	"context"
	"encoding/binary"
	"fmt"
)

// What a recovery from Arweave writes is already on Arweave: the flusher must not upload it again.

// PutItemFromArweave is PutItem for an item read back from Arweave: stored and indexed, never
// queued for upload.
func (s *Store) PutItemFromArweave(ctx context.Context, it Item) error {
	return s.putItem(ctx, it, false)
}

// PutCheckpointFromArweave is PutCheckpoint for a checkpoint read back from Arweave: never queued
// for upload.
func (s *Store) PutCheckpointFromArweave(cp Checkpoint) (compressed int, err error) {
	return s.putCheckpoint(cp, false)
}

// SetFlushedFromArweave records that pid's entries below entries are on Arweave (the flush cursor
// becomes entries if it is lower). A recovery calls it before appending what it read, so that the
// flusher never sees those entries as unflushed, not even for a moment. Durable on return.
func (s *Store) SetFlushedFromArweave(ctx context.Context, pid ID, entries uint64) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	cur, err := s.flushCursor(pid)
	if err != nil || entries <= cur {
		return err
	}
	b := s.db.NewBatch()
	_ = b.Set(flushCursorKey(pid), binary.BigEndian.AppendUint64(nil, entries), nil)
	if err := s.commit(b); err != nil {
		return fmt.Errorf("persistence: flush cursor of process %s: %w", b64(pid), err)
	}
	return nil
}

// 'R' pid -> empty: a recovery of pid from Arweave has started and not finished. Until it is
// cleared the process is incomplete: the node must not serve or schedule it, only resume the
// recovery (which continues after the entries already written).
const prefixRecovering = 'R'

func recoveringKey(pid ID) []byte { return append([]byte{prefixRecovering}, pid[:]...) }

// SetRecovering marks (on) or unmarks (off) pid as being recovered, durably.
func (s *Store) SetRecovering(ctx context.Context, pid ID, on bool) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	b := s.db.NewBatch()
	if on {
		_ = b.Set(recoveringKey(pid), nil, nil)
	} else {
		_ = b.Delete(recoveringKey(pid), nil)
	}
	return s.commit(b)
}

// Recovering reports whether a recovery of pid started and did not finish.
func (s *Store) Recovering(pid ID) (bool, error) {
	done, err := s.enter()
	if err != nil {
		return false, err
	}
	defer done()
	return s.has(recoveringKey(pid))
}
