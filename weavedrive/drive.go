package weavedrive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/runtime"
)

// Config bounds the drive. Every field has a default (DefaultConfig) and a node flag.
type Config struct {
	// Gateway is the Arweave gateway reads go to (--weavedrive-gateway, default the recovery
	// gateway, else --gateway). A node without any has no drive: open answers 0.
	Gateway string
	// Disabled gives processes no drive even with a gateway (--weavedrive=false).
	Disabled bool
	// Timeout bounds every gateway request (--weavedrive-timeout); the message's own deadline
	// bounds it too.
	Timeout time.Duration
	// ReadBudget is the bytes one message of a process may read through the drive
	// (--weavedrive-read-budget).
	ReadBudget int64
	// CacheBytes bounds the cache in the store (--weavedrive-cache-bytes): the oldest contents not
	// open are dropped to make room; a content larger than the whole cache is refused.
	CacheBytes int64
}

// DefaultConfig: 1 minute per gateway request, 1 GiB per message, a 4 GiB cache.
func DefaultConfig() Config {
	return Config{Timeout: time.Minute, ReadBudget: 1 << 30, CacheBytes: 4 << 30}
}

// maxHeader bounds a /tx or /block answer.
const maxHeader = 4 << 20

// readAhead is how many chunks past the one asked for a ranged gateway read stores.
const readAhead = 32

// Drives is a node's WeaveDrive: one gateway, one cache in the store, shared by every process.
type Drives struct {
	cfg Config
	gw  *arweave.Gateway
	st  *persistence.Store

	mu    sync.Mutex
	total int64                      // bytes of the contents recorded in the cache
	seq   uint64                     // next record's sequence (eviction order)
	open  map[persistence.ID]int     // contents open now: never evicted
	fills map[persistence.ID]*filler // one gateway read per content at a time
}

type filler struct{ done chan struct{} }

// New opens the drive over st's cache, reading what it holds.
func New(cfg Config, st *persistence.Store) (*Drives, error) {
	def := DefaultConfig()
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.ReadBudget <= 0 {
		cfg.ReadBudget = def.ReadBudget
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = def.CacheBytes
	}
	if cfg.Gateway == "" {
		return nil, errors.New("weavedrive: no gateway")
	}
	d := &Drives{cfg: cfg, gw: arweave.NewGateway(cfg.Gateway), st: st,
		open: map[persistence.ID]int{}, fills: map[persistence.ID]*filler{}}
	err := st.DriveEntries(func(e persistence.DriveEntry) error {
		d.total += int64(e.Size)
		d.seq = max(d.seq, e.Seq+1)
		return nil
	})
	return d, err
}

// Config returns the drive's settings, defaults applied.
func (d *Drives) Config() Config { return d.cfg }

// ReadBudget is the bytes one message may read (for runtime.Instance.SetDrive).
func (d *Drives) ReadBudget() int64 { return d.cfg.ReadBudget }

// CachedBytes is the size of what the cache holds.
func (d *Drives) CachedBytes() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

// For returns the drive of one process: its id and tags, and its module's tags, decide admission.
func (d *Drives) For(pid ans104.ID, process, module []ans104.Tag) runtime.Drive {
	return &procDrive{d: d, pid: persistence.ID(pid), process: process, module: module}
}

type procDrive struct {
	d               *Drives
	pid             persistence.ID
	process, module []ans104.Tag
}

func (p *procDrive) Open(ctx context.Context, path runtime.DrivePath, height uint64) (runtime.DriveFile, error) {
	switch path.Kind {
	case "data":
		return p.openData(ctx, path, height)
	case "tx", "block":
		return p.d.openHeader(ctx, path)
	}
	return nil, fmt.Errorf("weavedrive: %s: unknown kind", path)
}

func (p *procDrive) openData(ctx context.Context, path runtime.DrivePath, height uint64) (runtime.DriveFile, error) {
	aid, err := ans104.ParseID(path.ID)
	if err != nil {
		return nil, fmt.Errorf("weavedrive: %s: %v", path, err)
	}
	cid := persistence.ID(aid)
	if err := p.admit(ctx, path, cid, height); err != nil {
		return nil, err
	}
	d := p.d
	e, ok, err := d.acquire(cid)
	if err != nil {
		return nil, unavailable(fmt.Errorf("weavedrive: %s: cache: %w", path, err))
	}
	size := int64(e.Size)
	if !ok {
		gctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
		size, err = d.gw.DataSize(gctx, path.ID)
		cancel()
		switch {
		case arweave.IsNotFound(err):
			return nil, runtime.ErrDriveNotFound
		case err != nil:
			return nil, unavailable(fmt.Errorf("weavedrive: %s: size: %w", path, err))
		}
		if err := d.reserve(cid, size); err != nil {
			return nil, unavailable(fmt.Errorf("weavedrive: %s: %w", path, err))
		}
	}
	return &file{d: d, cid: cid, id: path.ID, size: size}, nil
}

// admit decides a /data read (admission.go): a read admitted once at height h is admitted again at
// any height from h without the gateway (the attestation it found is at or below h).
func (p *procDrive) admit(ctx context.Context, path runtime.DrivePath, cid persistence.ID, height uint64) error {
	if h, ok, err := p.d.st.DriveAdmitted(p.pid, cid); err == nil && ok && h <= height {
		return nil
	}
	// Refused at a height at or above this one after asking the gateway: the same answer (what
	// the gateway had up to that height does not change), so replays need no network.
	if h, reason, ok, err := p.d.st.DriveRefused(p.pid, cid); err == nil && ok && height <= h {
		return fmt.Errorf("weavedrive: %s refused: %s", path, reason)
	}
	plan := PlanAdmission(path.ID, height, p.process, p.module)
	found := make([]bool, 0, len(plan.Queries))
	if !plan.Admit && plan.Refuse == "" && plan.Fail == "" {
		for _, q := range plan.Queries {
			gctx, cancel := context.WithTimeout(ctx, p.d.cfg.Timeout)
			ok, err := p.d.gw.AnyTransaction(gctx, q.Owners, q.MaxHeight, q.Tags)
			cancel()
			if err != nil {
				return unavailable(fmt.Errorf("weavedrive: %s: admission: %w", path, err))
			}
			found = append(found, ok)
			if ok {
				break
			}
		}
	}
	ok, refusal, err := plan.Outcome(path.ID, found)
	if err != nil {
		return err
	}
	if !ok {
		if len(found) > 0 { // the gateway was asked: remember the answer for this height
			if h, _, had, _ := p.d.st.DriveRefused(p.pid, cid); !had || height > h {
				_ = p.d.st.PutDriveRefused(p.pid, cid, height, refusal)
			}
		}
		return fmt.Errorf("weavedrive: %s refused: %s", path, refusal)
	}
	if h, had, _ := p.d.st.DriveAdmitted(p.pid, cid); !had || height < h {
		_ = p.d.st.PutDriveAdmitted(p.pid, cid, height)
	}
	return nil
}

// openHeader opens /tx/<id> (the gateway's header JSON with ownerAddress added, as the reference
// drive serves it) or /block/<height> (the gateway's answer as it is).
func (d *Drives) openHeader(ctx context.Context, path runtime.DrivePath) (runtime.DriveFile, error) {
	cid := persistence.ID(sha256.Sum256([]byte(path.Kind + "/" + path.ID)))
	e, ok, err := d.acquire(cid)
	if err != nil {
		return nil, unavailable(fmt.Errorf("weavedrive: %s: cache: %w", path, err))
	}
	if ok {
		return &file{d: d, cid: cid, size: int64(e.Size)}, nil
	}
	gctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	var b []byte
	if path.Kind == "tx" {
		if b, err = d.gw.TxHeader(gctx, path.ID, maxHeader); err == nil {
			b, err = withOwnerAddress(b)
		}
	} else {
		var h uint64
		if _, serr := fmt.Sscan(path.ID, &h); serr != nil {
			return nil, fmt.Errorf("weavedrive: %s: bad height", path)
		}
		b, err = d.gw.BlockHeader(gctx, h, maxHeader)
	}
	if err != nil {
		err = fmt.Errorf("weavedrive: %s: %w", path, err)
		if !arweave.IsNotFound(err) {
			err = unavailable(err)
		}
		return nil, err
	}
	if err := d.reserve(cid, int64(len(b))); err != nil {
		return nil, unavailable(fmt.Errorf("weavedrive: %s: %w", path, err))
	}
	if err := d.storeChunks(cid, 0, b); err != nil {
		d.hold(cid, -1)
		return nil, unavailable(fmt.Errorf("weavedrive: %s: cache: %w", path, err))
	}
	return &file{d: d, cid: cid, size: int64(len(b))}, nil
}

// unavailable marks err as saying nothing about the process (runtime.ErrDriveUnavailable): the
// gateway failed or was too slow, or the cache could not hold or read the item. The message that
// read is evaluated again later instead of getting an Error another node would not give it.
func unavailable(err error) error {
	return fmt.Errorf("%w (%w)", err, runtime.ErrDriveUnavailable)
}

// withOwnerAddress is the reference's JSON.stringify({...entry, ownerAddress}): the header
// compacted, with ownerAddress (the SHA-256 of the owner key, base64url) last.
func withOwnerAddress(b []byte) ([]byte, error) {
	var h struct {
		Owner string `json:"owner"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("the gateway's /tx answer is not JSON: %w", err)
	}
	key, err := base64.RawURLEncoding.DecodeString(h.Owner)
	if err != nil {
		return nil, fmt.Errorf("the gateway's /tx answer has a bad owner: %w", err)
	}
	sum := sha256.Sum256(key)
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	c := bytes.TrimSuffix(out.Bytes(), []byte("}"))
	if !bytes.HasSuffix(c, []byte("{")) {
		c = append(c, ',')
	}
	c = append(c, `"ownerAddress":"`+base64.RawURLEncoding.EncodeToString(sum[:])+`"}`...)
	return c, nil
}

// hold counts the open files of a content (open contents are not evicted).
func (d *Drives) hold(cid persistence.ID, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.open[cid] += n
	if d.open[cid] <= 0 {
		delete(d.open, cid)
	}
}

// acquire returns cid's cache record and, when it is cached, holds it open (the caller's file
// releases it): looked up and held in one step, so that no eviction comes between.
func (d *Drives) acquire(cid persistence.ID) (persistence.DriveEntry, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok, err := d.st.DriveEntry(cid)
	if err == nil && ok {
		d.open[cid]++
	}
	return e, ok, err
}

// reserve records cid (size bytes) in the cache, dropping the oldest contents not open until it
// fits, and holds it open (the caller's file releases it).
func (d *Drives) reserve(cid persistence.ID, size int64) error {
	if size > d.cfg.CacheBytes {
		return fmt.Errorf("%d bytes, more than the whole cache (%d bytes, --weavedrive-cache-bytes)", size, d.cfg.CacheBytes)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok, err := d.st.DriveEntry(cid); err != nil || ok {
		if ok {
			d.open[cid]++ // recorded meanwhile by another reader
		}
		return err
	}
	if d.total+size > d.cfg.CacheBytes {
		var all []persistence.DriveEntry
		if err := d.st.DriveEntries(func(e persistence.DriveEntry) error { all = append(all, e); return nil }); err != nil {
			return err
		}
		slices.SortFunc(all, func(a, b persistence.DriveEntry) int { return int(a.Seq) - int(b.Seq) })
		for _, e := range all {
			if d.total+size <= d.cfg.CacheBytes {
				break
			}
			if d.open[e.CID] > 0 {
				continue
			}
			if err := d.st.DeleteDriveEntry(e.CID); err != nil {
				return err
			}
			d.total -= int64(e.Size)
		}
		if d.total+size > d.cfg.CacheBytes {
			return fmt.Errorf("the cache (%d bytes, --weavedrive-cache-bytes) is full of contents being read", d.cfg.CacheBytes)
		}
	}
	if err := d.st.PutDriveEntry(persistence.DriveEntry{CID: cid, Size: uint64(size), Seq: d.seq}); err != nil {
		return err
	}
	d.seq++
	d.total += size
	d.open[cid]++
	return nil
}

// storeChunks stores b as the content of cid from chunk n on.
func (d *Drives) storeChunks(cid persistence.ID, n uint32, b []byte) error {
	for len(b) > 0 {
		k := min(len(b), persistence.DriveChunk)
		if err := d.st.PutDriveChunk(cid, n, b[:k]); err != nil {
			return err
		}
		b, n = b[k:], n+1
	}
	return nil
}

// file is an open content: chunks from the cache, filled from the gateway when absent.
type file struct {
	d    *Drives
	cid  persistence.ID
	id   string // the item's id for /data; "" for headers (always whole in the cache)
	size int64

	chunk   []byte // the last chunk read, and its number
	chunkNo int64
	closed  bool
}

func (f *file) Size() int64 { return f.size }

func (f *file) Close() error {
	if !f.closed {
		f.closed = true
		f.d.hold(f.cid, -1)
	}
	return nil
}

func (f *file) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 || off > f.size {
		return 0, fmt.Errorf("offset %d outside 0..%d", off, f.size)
	}
	n := 0
	for n < len(p) && off < f.size {
		c, err := f.chunkAt(ctx, off/persistence.DriveChunk)
		if err != nil {
			return n, unavailable(err) // the cache or the gateway, never the process
		}
		in := off % persistence.DriveChunk
		if in >= int64(len(c)) {
			return n, fmt.Errorf("cached chunk %d of %d bytes is short", off/persistence.DriveChunk, len(c))
		}
		k := copy(p[n:], c[in:])
		n += k
		off += int64(k)
	}
	return n, nil
}

func (f *file) chunkAt(ctx context.Context, k int64) ([]byte, error) {
	if f.chunk != nil && f.chunkNo == k {
		return f.chunk, nil
	}
	for try := 0; try < 3; try++ {
		c, ok, err := f.d.st.DriveChunkAt(f.cid, uint32(k), f.chunk)
		if err != nil {
			return nil, err
		}
		if ok {
			f.chunk, f.chunkNo = c, k
			return c, nil
		}
		if f.id == "" {
			break // a header is stored whole when opened: it was evicted meanwhile
		}
		if err := f.d.fill(ctx, f.cid, f.id, f.size, k); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("chunk %d is not in the cache", k)
}

// fill reads cid's content from the gateway from chunk k on and stores it: up to readAhead chunks
// from a gateway that honours Range, the whole item from one that answers it whole. One fill of a
// content at a time: others wait for it and look again.
func (d *Drives) fill(ctx context.Context, cid persistence.ID, id string, size int64, k int64) error {
	d.mu.Lock()
	if fl := d.fills[cid]; fl != nil {
		d.mu.Unlock()
		select {
		case <-fl.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fl := &filler{done: make(chan struct{})}
	d.fills[cid] = fl
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.fills, cid)
		d.mu.Unlock()
		close(fl.done)
	}()
	gctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	off := k * persistence.DriveChunk
	body, partial, err := d.gw.DataFrom(gctx, id, off)
	if err != nil {
		return err
	}
	defer body.Close()
	last := (size + persistence.DriveChunk - 1) / persistence.DriveChunk // chunks in all
	from, stop := int64(0), last
	if partial {
		from, stop = k, min(last, k+readAhead)
	}
	buf := make([]byte, persistence.DriveChunk)
	for n := from; n < stop; n++ {
		want := min(int64(persistence.DriveChunk), size-n*persistence.DriveChunk)
		if _, err := io.ReadFull(body, buf[:want]); err != nil {
			return fmt.Errorf("the gateway's answer ends before %d bytes: %w", n*persistence.DriveChunk+want, err)
		}
		if err := d.st.PutDriveChunk(cid, uint32(n), buf[:want]); err != nil {
			return err
		}
	}
	return nil
}
