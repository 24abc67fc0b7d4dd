package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The WeaveDrive cache (weavedrive/): what processes read from Arweave through WeaveDrive, kept by
// content id so that replay, recovery and verify read the same bytes without the network.
//
//	'W' 'm' cid                 -> cache record: size u64, sequence u64 (eviction order, oldest first)
//	'W' 'c' cid chunk(u32)      -> one DriveChunk-sized piece of the content (the last is shorter)
//	'W' 'a' pid cid             -> the lowest block height at which pid's read of cid was admitted, u64
//	'W' 'r' pid cid             -> the highest block height at which the gateway's answer refused it,
//	                               u64, then the refusal (text)
//
// A cid is an item's 32-byte id for /data, and the SHA-256 of "tx/<id>" or "block/<height>" for the
// headers. Writes are not fsync'd: the cache can always be filled again from the gateway.
const prefixDrive = 'W'

// DriveChunk is the size of one cached piece of content.
const DriveChunk = 256 << 10

func driveMetaKey(cid ID) []byte { return append([]byte{prefixDrive, 'm'}, cid[:]...) }
func driveChunkPrefix(cid ID) []byte {
	return append([]byte{prefixDrive, 'c'}, cid[:]...)
}
func driveChunkKey(cid ID, n uint32) []byte {
	return binary.BigEndian.AppendUint32(driveChunkPrefix(cid), n)
}
func driveAdmitKey(pid, cid ID) []byte {
	return append(append([]byte{prefixDrive, 'a'}, pid[:]...), cid[:]...)
}

func driveRefusedKey(pid, cid ID) []byte {
	return append(append([]byte{prefixDrive, 'r'}, pid[:]...), cid[:]...)
}

// DriveEntry is one cached content's record.
type DriveEntry struct {
	CID  ID
	Size uint64
	Seq  uint64
}

// DriveEntry returns cid's record; ok is false when it is not cached.
func (s *Store) DriveEntry(cid ID) (e DriveEntry, ok bool, err error) {
	done, err := s.enter()
	if err != nil {
		return e, false, err
	}
	defer done()
	v, ok, err := s.get(driveMetaKey(cid))
	if err != nil || !ok {
		return e, false, err
	}
	if len(v) != 16 {
		return e, false, fmt.Errorf("persistence: weavedrive record of %s: %d bytes", b64(cid), len(v))
	}
	return DriveEntry{CID: cid, Size: binary.BigEndian.Uint64(v), Seq: binary.BigEndian.Uint64(v[8:])}, true, nil
}

// PutDriveEntry records that cid (Size bytes) is being cached.
func (s *Store) PutDriveEntry(e DriveEntry) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	v := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, e.Size), e.Seq)
	return s.db.Set(driveMetaKey(e.CID), v, pebble.NoSync)
}

// DriveEntries visits every cached content's record.
func (s *Store) DriveEntries(fn func(DriveEntry) error) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	p := []byte{prefixDrive, 'm'}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != 2+idLen || len(v) != 16 {
			continue
		}
		var cid ID
		copy(cid[:], k[2:])
		if err := fn(DriveEntry{CID: cid, Size: binary.BigEndian.Uint64(v), Seq: binary.BigEndian.Uint64(v[8:])}); err != nil {
			return err
		}
	}
	return it.Error()
}

// DeleteDriveEntry drops cid's record and content.
func (s *Store) DeleteDriveEntry(cid ID) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	b := s.db.NewBatch()
	_ = b.Delete(driveMetaKey(cid), nil)
	p := driveChunkPrefix(cid)
	_ = b.DeleteRange(p, prefixEnd(p), nil)
	return b.Commit(pebble.NoSync)
}

// DriveChunkAt returns piece n of cid, or ok false when it is not cached.
func (s *Store) DriveChunkAt(cid ID, n uint32, buf []byte) (val []byte, ok bool, err error) {
	done, err := s.enter()
	if err != nil {
		return nil, false, err
	}
	defer done()
	v, closer, err := s.db.Get(driveChunkKey(cid, n))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer closer.Close()
	return append(buf[:0], v...), true, nil
}

// PutDriveChunk stores piece n of cid.
func (s *Store) PutDriveChunk(cid ID, n uint32, b []byte) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	return s.db.Set(driveChunkKey(cid, n), b, pebble.NoSync)
}

// DriveAdmitted returns the lowest block height at which pid's read of cid was admitted.
func (s *Store) DriveAdmitted(pid, cid ID) (height uint64, ok bool, err error) {
	done, err := s.enter()
	if err != nil {
		return 0, false, err
	}
	defer done()
	v, ok, err := s.get(driveAdmitKey(pid, cid))
	if err != nil || !ok || len(v) != 8 {
		return 0, false, err
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// PutDriveAdmitted records that pid's read of cid was admitted at height.
func (s *Store) PutDriveAdmitted(pid, cid ID, height uint64) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	return s.db.Set(driveAdmitKey(pid, cid), binary.BigEndian.AppendUint64(nil, height), pebble.NoSync)
}

// DriveRefused returns the highest block height at which pid's read of cid was refused after
// asking the gateway, and the refusal: a replay at or below it gets the same answer without the
// gateway.
func (s *Store) DriveRefused(pid, cid ID) (height uint64, reason string, ok bool, err error) {
	done, err := s.enter()
	if err != nil {
		return 0, "", false, err
	}
	defer done()
	v, ok, err := s.get(driveRefusedKey(pid, cid))
	if err != nil || !ok || len(v) < 8 {
		return 0, "", false, err
	}
	return binary.BigEndian.Uint64(v), string(v[8:]), true, nil
}

// PutDriveRefused records that pid's read of cid was refused at height, for reason.
func (s *Store) PutDriveRefused(pid, cid ID, height uint64, reason string) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	return s.db.Set(driveRefusedKey(pid, cid), append(binary.BigEndian.AppendUint64(nil, height), reason...), pebble.NoSync)
}
