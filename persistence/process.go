package persistence

import (
	"context"
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// loadHead fills hd from Pebble if it is not cached. Called with hd.lock held.
func (s *Store) loadHead(pid ID, hd *head) error {
	if hd.loaded {
		return nil
	}
	// Reset field by field: refs belongs to the shard mutex, not to the lock held here.
	hd.exists, hd.epoch, hd.count, hd.lastHC, hd.lastAsgID = false, 0, 0, ID{}, ID{}
	ev, ok, err := s.get(epochKey(pid))
	if err != nil {
		return fmt.Errorf("persistence: load head of %s: %w", b64(pid), err)
	}
	if !ok {
		// Not registered: its epoch is the floor a fence left, if any.
		fv, ok, err := s.get(floorKey(pid))
		if err != nil {
			return fmt.Errorf("persistence: load head of %s: %w", b64(pid), err)
		}
		if ok && len(fv) == 8 {
			hd.epoch = binary.BigEndian.Uint64(fv)
		}
		hd.loaded = true
		return nil
	}
	if len(ev) != 8 {
		return newErr(ErrCorrupt, fmt.Sprintf("epoch record of process %s", b64(pid)))
	}
	hd.exists = true
	hd.epoch = binary.BigEndian.Uint64(ev)
	last, ok, err := s.lastEntry(pid)
	if err != nil {
		return err
	}
	if ok {
		hd.count = last.Nonce + 1
		hd.lastHC = last.HashChain
		hd.lastAsgID = last.AssignmentID
	}
	hd.loaded = true
	return nil
}

func (s *Store) checkProcess(p *Process) error {
	name := "process " + b64(p.ID)
	switch {
	case p.ID == ID{}:
		return newErr(ErrInvalid, "process id is zero")
	case len(p.Item) == 0:
		return newErr(ErrInvalid, name+" has no process item bytes")
	case len(p.Item) > s.opts.MaxProcessItemBytes:
		return newErr(ErrLimit, fmt.Sprintf("%s: item is %d bytes, MaxProcessItemBytes is %d", name, len(p.Item), s.opts.MaxProcessItemBytes))
	case len(p.Owner) > s.opts.MaxOwnerBytes:
		return newErr(ErrLimit, fmt.Sprintf("%s: owner is %d bytes, MaxOwnerBytes is %d", name, len(p.Owner), s.opts.MaxOwnerBytes))
	case len(p.Tags) > s.opts.MaxTags:
		return newErr(ErrLimit, fmt.Sprintf("%s: %d tags, MaxTags is %d", name, len(p.Tags), s.opts.MaxTags))
	}
	n := 0
	for _, t := range p.Tags {
		n += len(t.Name) + len(t.Value)
		if !utf8.ValidString(t.Name) || !utf8.ValidString(t.Value) {
			return newErr(ErrInvalid, fmt.Sprintf("%s: tag %q is not valid UTF-8", name, t.Name))
		}
	}
	if n > s.opts.MaxTagBytes {
		return newErr(ErrLimit, fmt.Sprintf("%s: tags total %d bytes, MaxTagBytes is %d", name, n, s.opts.MaxTagBytes))
	}
	return nil
}

// PutProcess registers a process. It is durable when PutProcess returns. A second put of the same
// id is refused with ErrProcessExists (the first record is kept).
func (s *Store) PutProcess(ctx context.Context, p Process) error {
	if err := s.checkProcess(&p); err != nil {
		return err
	}
	return s.withHead(ctx, p.ID, func(hd *head) (bool, error) {
		if hd.exists {
			return true, newErr(ErrProcessExists, "process "+b64(p.ID))
		}
		if p.Epoch < hd.epoch {
			// A newer owner fenced this store before the process reached it: the registration
			// comes from an owner that lost the process (invariant 2).
			return true, newErr(ErrStaleEpoch, fmt.Sprintf("register process %s at epoch %d: a newer owner fenced it at epoch %d", b64(p.ID), p.Epoch, hd.epoch))
		}
		b := s.db.NewBatch()
		_ = b.Set(processKey(p.ID), encodeProcess(&p), nil)
		crons := batchCronMarker(b, &p)
		_ = b.Set(epochKey(p.ID), binary.BigEndian.AppendUint64(nil, p.Epoch), nil)
		if hd.epoch > 0 {
			_ = b.Delete(floorKey(p.ID), nil) // the epoch record supersedes it
		}
		if err := s.commit(b); err != nil {
			return false, fmt.Errorf("persistence: put process %s: %w", b64(p.ID), err)
		}
		hd.exists, hd.epoch = true, p.Epoch
		if crons {
			s.cronRegistered(p.ID)
		}
		return true, nil
	})
}

// Process returns a registered process with its current epoch, or ErrNotFound.
func (s *Store) Process(id ID) (Process, error) {
	done, err := s.enter()
	if err != nil {
		return Process{}, err
	}
	defer done()
	// Read both keys from one snapshot so the epoch belongs to the record read.
	snap := s.db.NewSnapshot()
	defer snap.Close()
	v, closer, err := snap.Get(processKey(id))
	if err != nil {
		if isNotFound(err) {
			return Process{}, newErr(ErrNotFound, "process "+b64(id))
		}
		return Process{}, err
	}
	p, err := decodeProcess(id, v)
	closer.Close()
	if err != nil {
		return p, err
	}
	ev, closer, err := snap.Get(epochKey(id))
	if err != nil {
		return p, newErr(ErrCorrupt, "process "+b64(id)+" has no epoch record")
	}
	if len(ev) == 8 {
		p.Epoch = binary.BigEndian.Uint64(ev)
	}
	closer.Close()
	return p, nil
}

// SetEpoch raises pid's ownership epoch (durably, under the same per-process lock as Append, so no
// append with the old epoch can land after it returns). Lowering is refused with ErrStaleEpoch;
// setting the current value is a no-op.
func (s *Store) SetEpoch(ctx context.Context, pid ID, epoch uint64) error {
	return s.withHead(ctx, pid, func(hd *head) (bool, error) {
		switch {
		case !hd.exists:
			return true, newErr(ErrUnknownProcess, "set epoch of process "+b64(pid))
		case epoch < hd.epoch:
			return true, newErr(ErrStaleEpoch, fmt.Sprintf("set epoch of process %s to %d: current epoch is %d", b64(pid), epoch, hd.epoch))
		case epoch == hd.epoch:
			return true, nil
		}
		b := s.db.NewBatch()
		_ = b.Set(epochKey(pid), binary.BigEndian.AppendUint64(nil, epoch), nil)
		if err := s.commit(b); err != nil {
			return false, fmt.Errorf("persistence: set epoch of %s: %w", b64(pid), err)
		}
		hd.epoch = epoch
		return true, nil
	})
}
