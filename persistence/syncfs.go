package persistence

import (
	"strings"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// SyncCountingFS wraps a vfs.FS and counts the syncs of write-ahead-log files. Give it to
// Options.FS to observe group commit: appends per WAL sync is how many appends shared each fsync.
type SyncCountingFS struct {
	vfs.FS
	walSyncs atomic.Int64
}

// NewSyncCountingFS wraps fs (nil means the OS filesystem).
func NewSyncCountingFS(fs vfs.FS) *SyncCountingFS {
	if fs == nil {
		fs = vfs.Default
	}
	return &SyncCountingFS{FS: fs}
}

// WALSyncs is the number of WAL syncs so far.
func (c *SyncCountingFS) WALSyncs() int64 { return c.walSyncs.Load() }

func (c *SyncCountingFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &countingFile{File: f, n: &c.walSyncs}, nil
}

// Create implements vfs.FS.
func (c *SyncCountingFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := c.FS.Create(name, cat)
	return c.wrap(name, f, err)
}

// ReuseForWrite implements vfs.FS (Pebble recycles old WAL files through it).
func (c *SyncCountingFS) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := c.FS.ReuseForWrite(oldname, newname, cat)
	return c.wrap(newname, f, err)
}

// OpenReadWrite implements vfs.FS.
func (c *SyncCountingFS) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := c.FS.OpenReadWrite(name, cat, opts...)
	return c.wrap(name, f, err)
}

type countingFile struct {
	vfs.File
	n *atomic.Int64
}

func (f *countingFile) Sync() error     { f.n.Add(1); return f.File.Sync() }
func (f *countingFile) SyncData() error { f.n.Add(1); return f.File.SyncData() }
func (f *countingFile) SyncTo(length int64) (bool, error) {
	f.n.Add(1)
	return f.File.SyncTo(length)
}
