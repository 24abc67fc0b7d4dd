package persistence

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// CommitMode selects how concurrent appends share fsyncs.
type CommitMode int

const (
	// CommitPipeline: each append commits its own batch with pebble.Sync from the caller's goroutine;
	// Pebble's commit pipeline coalesces the WAL fsyncs of concurrent commits into one. The default:
	// see doc.go for the measurement behind it.
	CommitPipeline CommitMode = iota
	// CommitSerial: appends hand their batch to one committer goroutine, which merges all pending
	// batches into one and commits it with a single fsync.
	CommitSerial
)

func (m CommitMode) String() string {
	switch m {
	case CommitPipeline:
		return "pipeline"
	case CommitSerial:
		return "serial"
	}
	return fmt.Sprintf("CommitMode(%d)", int(m))
}

// Options configures a Store. Every zero numeric field takes its DefaultOptions value, so Options{}
// is a safe, durable configuration; DefaultOptions exists to show and tweak the defaults.
type Options struct {
	// NoSync turns fsync off: an append then returns before it is durable. Benchmarks only (the
	// baseline ratio); it breaks docs/design.md invariant 1. The field is negative so that the zero value
	// of Options is durable.
	NoSync bool
	// Commit selects the group-commit strategy.
	Commit CommitMode
	// MaxGroupEntries and MaxGroupBytes bound one merged batch in CommitSerial mode.
	MaxGroupEntries int
	MaxGroupBytes   int

	// Input limits: exceeding one is an ErrLimit error naming the limit.
	MaxAssignmentBytes  int // raw assignment item; default 64 KiB (an ed25519 assignment is ~600 B)
	MaxMessageBytes     int // raw message item; default 10 MiB, the reference SU's HTTP body limit
	MaxProcessItemBytes int // raw process item; default 10 MiB
	MaxOwnerBytes       int // default 1 KiB (RSA-4096 owner is 512 B)
	MaxTags             int // default 128, the ANS-104 tag count limit
	MaxTagBytes         int // sum of tag names and values; default 4096, the ANS-104 limit

	// Scan paging: Limit 0 means DefaultScanLimit; above MaxScanLimit is ErrLimit. A page stops early
	// (HasMore = true) once it holds MaxScanBytes of items, so one read never loads unbounded memory.
	DefaultScanLimit int // default 100, as the reference SU
	MaxScanLimit     int // default 10,000
	MaxScanBytes     int // default 64 MiB

	// HeadCacheSize bounds the in-memory per-process heads (last nonce, hash chain, epoch); an
	// evicted head is reloaded from Pebble on next use. Default 1<<20 (~200 MB worst case).
	HeadCacheSize int

	// DedupFilterBytes sizes the in-memory Bloom filter that lets most appends skip the dedup Gets
	// (see filter.go). Default 16 MiB: ~13 million ids at a 1% false-positive rate; beyond that it
	// gets gradually less useful, never wrong. NoDedupFilter turns it off (every append does the Gets).
	DedupFilterBytes int
	NoDedupFilter    bool

	// WALMinSyncInterval makes Pebble wait at least this long between WAL fsyncs, so that more
	// concurrent commits share each one (more throughput, a little more latency). 0: sync as soon
	// as possible.
	WALMinSyncInterval time.Duration

	// Pebble tuning.
	BlockCacheBytes int64  // default 64 MiB
	MemTableBytes   uint64 // default 64 MiB

	// FS is the filesystem Pebble uses; nil means the OS. Tests and benchmarks wrap it to count fsyncs.
	FS vfs.FS
	// Logger receives Pebble's and the store's logs; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultOptions returns the defaults: fsync on, pipeline group commit, and every limit set.
func DefaultOptions() Options {
	return Options{
		Commit:              CommitPipeline,
		MaxGroupEntries:     4096,
		MaxGroupBytes:       32 << 20,
		MaxAssignmentBytes:  64 << 10,
		MaxMessageBytes:     10 << 20,
		MaxProcessItemBytes: 10 << 20,
		MaxOwnerBytes:       1 << 10,
		MaxTags:             128,
		MaxTagBytes:         4096,
		DefaultScanLimit:    100,
		MaxScanLimit:        10_000,
		MaxScanBytes:        64 << 20,
		HeadCacheSize:       1 << 20,
		DedupFilterBytes:    16 << 20,
		BlockCacheBytes:     64 << 20,
		MemTableBytes:       64 << 20,
	}
}

// withDefaults fills every zero field and rejects negative ones.
func (o Options) withDefaults() (Options, error) {
	d := DefaultOptions()
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxGroupEntries", &o.MaxGroupEntries, d.MaxGroupEntries},
		{"MaxGroupBytes", &o.MaxGroupBytes, d.MaxGroupBytes},
		{"MaxAssignmentBytes", &o.MaxAssignmentBytes, d.MaxAssignmentBytes},
		{"MaxMessageBytes", &o.MaxMessageBytes, d.MaxMessageBytes},
		{"MaxProcessItemBytes", &o.MaxProcessItemBytes, d.MaxProcessItemBytes},
		{"MaxOwnerBytes", &o.MaxOwnerBytes, d.MaxOwnerBytes},
		{"MaxTags", &o.MaxTags, d.MaxTags},
		{"MaxTagBytes", &o.MaxTagBytes, d.MaxTagBytes},
		{"DefaultScanLimit", &o.DefaultScanLimit, d.DefaultScanLimit},
		{"MaxScanLimit", &o.MaxScanLimit, d.MaxScanLimit},
		{"MaxScanBytes", &o.MaxScanBytes, d.MaxScanBytes},
		{"HeadCacheSize", &o.HeadCacheSize, d.HeadCacheSize},
		{"DedupFilterBytes", &o.DedupFilterBytes, d.DedupFilterBytes},
	}
	for _, f := range ints {
		if *f.v < 0 {
			return o, newErr(ErrInvalid, fmt.Sprintf("option %s is %d, must be >= 0", f.name, *f.v))
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if o.BlockCacheBytes < 0 {
		return o, newErr(ErrInvalid, "option BlockCacheBytes is negative")
	}
	if o.BlockCacheBytes == 0 {
		o.BlockCacheBytes = d.BlockCacheBytes
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = d.MemTableBytes
	}
	if o.DefaultScanLimit > o.MaxScanLimit {
		return o, newErr(ErrInvalid, fmt.Sprintf("option DefaultScanLimit %d exceeds MaxScanLimit %d", o.DefaultScanLimit, o.MaxScanLimit))
	}
	if o.Commit != CommitPipeline && o.Commit != CommitSerial {
		return o, newErr(ErrInvalid, fmt.Sprintf("option Commit: unknown mode %d", int(o.Commit)))
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
