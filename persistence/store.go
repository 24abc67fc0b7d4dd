package persistence

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// Store is the node's Pebble database. All methods are safe for concurrent use.
type Store struct {
	db    *pebble.DB
	opts  Options
	wo    *pebble.WriteOptions
	log   *slog.Logger
	heads *heads

	// closeMu: every operation holds it for reading; Close takes it for writing, so Close waits for
	// in-flight appends to finish and later calls get ErrClosed instead of touching a closed DB.
	closeMu sync.RWMutex
	closed  bool

	committer *committer   // nil unless Options.Commit == CommitSerial
	filter    *dedupFilter // nil when Options.NoDedupFilter
	// flushDirty: processes appended to since the flusher last looked (flush.go).
	flushDirty dirtySet
	stalls     stallStats
	// cronHook is told of every process registered with crons (cron.go).
	cronHook atomic.Pointer[func(ID)]
}

// stallStats counts Pebble write stalls (memtables or L0 full because flushes and compactions lag):
// they are where append tail latency comes from when the machine is short of CPU or disk.
type stallStats struct {
	mu    sync.Mutex
	count int64
	total time.Duration
	began time.Time
}

// Stats is a snapshot of store counters.
type Stats struct {
	WriteStalls        int64         // Pebble write stalls since Open
	WriteStallDuration time.Duration // their total duration
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.stalls.mu.Lock()
	defer s.stalls.mu.Unlock()
	return Stats{WriteStalls: s.stalls.count, WriteStallDuration: s.stalls.total}
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, o Options) (*Store, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{opts: o, log: o.Logger.With("component", "persistence"), heads: newHeads(o.HeadCacheSize), wo: pebble.Sync,
		flushDirty: dirtySet{full: true}}
	cache := pebble.NewCache(o.BlockCacheBytes)
	po := &pebble.Options{
		FS:                 o.FS,
		Cache:              cache,
		MemTableSize:       o.MemTableBytes,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{o.Logger.With("component", "pebble")},
		EventListener: &pebble.EventListener{
			WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
				s.stalls.mu.Lock()
				s.stalls.count++
				s.stalls.began = time.Now()
				s.stalls.mu.Unlock()
				s.log.Warn("pebble write stall", "reason", info.Reason)
			},
			WriteStallEnd: func() {
				s.stalls.mu.Lock()
				if !s.stalls.began.IsZero() {
					s.stalls.total += time.Since(s.stalls.began)
					s.stalls.began = time.Time{}
				}
				s.stalls.mu.Unlock()
			},
		},
	}
	// Bloom filters make the dedup Gets (message and assignment ids, mostly absent) cheap once the
	// keys have left the memtable; Pebble copies L0's policy to the lower levels.
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	if d := o.WALMinSyncInterval; d > 0 {
		po.WALMinSyncInterval = func() time.Duration { return d }
	}
	po.EnsureDefaults()
	db, err := pebble.Open(dir, po)
	cache.Unref() // the DB holds its own reference
	if err != nil {
		return nil, fmt.Errorf("persistence: open %s: %w", dir, err)
	}
	s.db = db
	if o.NoSync {
		s.wo = pebble.NoSync
	}
	if !o.NoDedupFilter {
		s.filter = newDedupFilter(o.DedupFilterBytes)
		start := time.Now()
		n, err := loadFilter(db, s.filter)
		if err != nil {
			db.Close()
			return nil, err
		}
		s.log.Debug("dedup filter loaded", "keys", n, "took", time.Since(start))
	}
	if o.Commit == CommitSerial {
		s.committer = newCommitter(db, s.wo, o.MaxGroupEntries, o.MaxGroupBytes)
	}
	return s, nil
}

// Close waits for in-flight operations, then closes the database. Later calls return ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.committer != nil {
		s.committer.stop()
	}
	return s.db.Close()
}

// enter marks the start of an operation; the returned func ends it.
func (s *Store) enter() (func(), error) {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, &Error{Kind: ErrClosed, Detail: "operation after Close"}
	}
	return s.closeMu.RUnlock, nil
}

// commit makes b durable (unless NoSync) through the configured group-commit path and closes b.
func (s *Store) commit(b *pebble.Batch) error {
	if s.committer != nil {
		return s.committer.commit(b)
	}
	defer b.Close()
	return b.Commit(s.wo)
}

// get reads a key and copies its value; ok is false when the key is absent.
func (s *Store) get(key []byte) (val []byte, ok bool, err error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	val = append([]byte(nil), v...)
	closer.Close()
	return val, true, nil
}

// has reports whether key exists without copying its value.
func (s *Store) has(key []byte) (bool, error) {
	_, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	closer.Close()
	return true, nil
}

// pebbleLogger sends Pebble's logs to slog instead of the standard logger. Pebble's informational
// lines (WAL recovery, file counts) go to Debug: they are routine on every open.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) { p.l.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
}

// Fatalf is called by Pebble on unrecoverable corruption and must not return.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "fatal", true)
	panic("pebble: " + msg)
}

// mayHave reports whether key may be stored: the filter answers "no" without touching Pebble.
func (s *Store) mayHave(key []byte) (bool, error) {
	if s.filter != nil && !s.filter.mayContain(key) {
		return false, nil
	}
	return s.has(key)
}
