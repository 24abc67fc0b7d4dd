package persistence

import (
	"context"
	"encoding/binary"
	"fmt"
)

// MarkOnArweave records that what a recovery read from Arweave is already there, so the flusher
// does not upload it a second time: pid's flush cursor becomes entries (if it is lower), and the
// given standalone items and checkpoint leave the upload queues (PutItem and PutCheckpoint queue
// everything they store). One durable batch.
func (s *Store) MarkOnArweave(ctx context.Context, pid ID, entries uint64, items []QueuedItem, checkpoints []QueuedCheckpoint) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	cur, err := s.flushCursor(pid)
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	if entries > cur {
		_ = b.Set(flushCursorKey(pid), binary.BigEndian.AppendUint64(nil, entries), nil)
	}
	for _, it := range items {
		_ = b.Delete(queueItemKey(it.Timestamp, it.ID), nil)
	}
	for _, c := range checkpoints {
		_ = b.Delete(queueCheckpointKey(c.Process, c.Nonce), nil)
	}
	if err := s.commit(b); err != nil {
		return fmt.Errorf("persistence: mark process %s as on Arweave: %w", b64(pid), err)
	}
	return nil
}
