package flush

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/persistence"
)

// Config selects the upload path and tunes batching. Every field has a default and a flag on
// `actorweave node`.
type Config struct {
	// Gateway is an Arweave node or gateway: the L1 path posts there (with Wallet), and the bundler
	// path asks it whether an upload interrupted by a crash already landed.
	Gateway string
	// Wallet is the RSA Arweave wallet (JWK file) that signs and pays for L1 transactions.
	Wallet string
	// Bundler is a bundler's URL (one data item per POST {Bundler}/tx); it wins over the L1 path.
	Bundler string
	// MaxBytes bounds one upload (the bundle); more waiting is uploaded at once in the next one.
	MaxBytes int
	// Interval is how long new log entries wait before an upload is started for them.
	Interval time.Duration
	// RetryMax bounds the exponential backoff between attempts of a failed upload.
	RetryMax time.Duration
	// DegradedAfter: Health reports degraded when the oldest log entry not on Arweave was
	// acknowledged longer ago than this, or an upload has been failing for longer (--flush-degraded-after).
	DegradedAfter time.Duration
	// OnUpload, when set, is called with the ids of an upload's items once it is accepted (the
	// flush benchmark uses it to know what to look for on the gateway).
	OnUpload func(ids []ans104.ID) `json:"-"`
}

// DefaultConfig: 4 MiB uploads every second, retries backing off up to a minute; no destination
// (nothing is flushed until Gateway or Bundler is set).
func DefaultConfig() Config {
	return Config{MaxBytes: 4 << 20, Interval: time.Second, RetryMax: time.Minute, DegradedAfter: 2 * time.Minute}
}

// Enabled reports whether a destination is configured.
func (c Config) Enabled() bool { return c.Gateway != "" || c.Bundler != "" }

// Flusher uploads a node's logs, checkpoints and standalone items to Arweave.
type Flusher struct {
	cfg    Config
	store  *persistence.Store
	signer ans104.Signer
	poster arweave.Poster
	log    *slog.Logger
	m      *metrics

	kick    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	cancel  context.CancelFunc
	rotate  int
	stopped atomic.Bool

	mu    sync.Mutex
	stats Stats
	// What Health reports, under mu.
	failingSince time.Time        // first failed attempt of the current upload or round; zero when the last one worked
	lastErr      string           // the last failure
	refused      bool             // the last failure was a permanent refusal (4xx other than 408 and 429)
	refusedProcs []persistence.ID // the processes whose entries are in the refused upload
	oldestTS     int64            // acknowledgement time (ms) of the oldest entry not on Arweave at the last scan; 0: none
}

// Health is the flusher's state for /healthz.
type Health struct {
	Degraded bool   `json:"degraded"`
	Reason   string `json:"reason,omitempty"`
	// LagSeconds: how long ago the oldest log entry not yet on Arweave was acknowledged.
	LagSeconds float64 `json:"lagSeconds"`
	// FailingSeconds: how long the current upload has been failing (0: it is not).
	FailingSeconds float64 `json:"failingSeconds,omitempty"`
	LastError      string  `json:"lastError,omitempty"`
	// Refused: the gateway refuses the upload for good (4xx): retried for ever, but someone must
	// look. RefusedProcesses are the processes it carries something of (log entries, checkpoints,
	// result certificates, their Process items).
	Refused          bool     `json:"refused,omitempty"`
	RefusedProcesses []string `json:"refusedProcesses,omitempty"`
}

// Health says whether the flush keeps up: degraded when the lag or a failing upload passes
// Config.DegradedAfter.
func (f *Flusher) Health() Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	h := Health{LastError: f.lastErr, Refused: f.refused}
	if f.oldestTS > 0 {
		h.LagSeconds = max(0, float64(now.UnixMilli()-f.oldestTS)/1000)
	}
	if !f.failingSince.IsZero() {
		h.FailingSeconds = now.Sub(f.failingSince).Seconds()
	}
	for _, p := range f.refusedProcs {
		h.RefusedProcesses = append(h.RefusedProcesses, ans104.ID(p).String())
	}
	limit := f.cfg.DegradedAfter.Seconds()
	switch {
	case (h.FailingSeconds > limit || h.LagSeconds > limit) && f.refused:
		h.Degraded, h.Reason = true, fmt.Sprintf("the gateway refuses uploads for good (failing %.0f s, oldest entry not on Arweave %.0f s old): %s",
			h.FailingSeconds, h.LagSeconds, f.lastErr)
	case h.FailingSeconds > limit:
		h.Degraded, h.Reason = true, fmt.Sprintf("uploads failing for %.0f s: %s", h.FailingSeconds, f.lastErr)
	case h.LagSeconds > limit:
		h.Degraded, h.Reason = true, fmt.Sprintf("the oldest entry not on Arweave was acknowledged %.0f s ago", h.LagSeconds)
	}
	return h
}

// failed records a failed attempt for Health and the metrics.
func (f *Flusher) failed(err error, procs []persistence.ID) {
	var se *arweave.StatusError
	permanent := errors.As(err, &se) && se.Code >= 400 && se.Code < 500 && se.Code != http.StatusRequestTimeout && se.Code != http.StatusTooManyRequests
	f.mu.Lock()
	if f.failingSince.IsZero() {
		f.failingSince = time.Now()
	}
	f.lastErr, f.refused = err.Error(), permanent
	if permanent {
		f.refusedProcs = procs
	} else {
		f.refusedProcs = nil
	}
	f.mu.Unlock()
	if permanent {
		f.m.refusals.Inc()
	}
	f.m.failing.Set(1)
}

// worked clears the failure state after a successful upload.
func (f *Flusher) worked() {
	f.mu.Lock()
	f.failingSince, f.lastErr, f.refused, f.refusedProcs = time.Time{}, "", false, nil
	f.mu.Unlock()
	f.m.failing.Set(0)
}

// Stats are the flusher's counters since it started.
type Stats struct {
	Uploads     int64 // uploads completed
	Entries     int64 // log entries uploaded
	Items       int64 // data items uploaded (log batches, checkpoints, standalone items)
	Checkpoints int64
	// Certificates are result certificates uploaded (in Result-Batch items).
	Certificates int64
	Bytes        int64         // bytes posted (bundles or items)
	LogBytes     int64         // of which Log-Batch items
	UploadTime   time.Duration // total time from posting to accepted, retries included
	Retries      int64         // failed attempts retried
	Resumed      int64         // uploads found in flight at start and finished
	Reposted     int64         // of those, posted again because the gateway did not have them
}

// New builds a flusher from cfg; signer is the node key (it signs log batches and checkpoints).
func New(cfg Config, store *persistence.Store, signer ans104.Signer, reg prometheus.Registerer, log *slog.Logger) (*Flusher, error) {
	d := DefaultConfig()
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = d.MaxBytes
	}
	if cfg.Interval <= 0 {
		cfg.Interval = d.Interval
	}
	if cfg.DegradedAfter <= 0 {
		cfg.DegradedAfter = d.DegradedAfter
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = d.RetryMax
	}
	if log == nil {
		log = slog.Default()
	}
	f := &Flusher{cfg: cfg, store: store, signer: signer, log: log.With("component", "flush"),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	var err error
	if f.poster, err = NewPoster(cfg); err != nil {
		return nil, err
	}
	f.m = newMetrics(reg)
	return f, nil
}

// NewPoster picks the upload path of cfg: the bundler when set, else L1 to the gateway with the
// wallet.
func NewPoster(cfg Config) (arweave.Poster, error) {
	var gw *arweave.Gateway
	if cfg.Gateway != "" {
		gw = arweave.NewGateway(cfg.Gateway)
	}
	switch {
	case cfg.Bundler != "":
		return arweave.NewBundler(cfg.Bundler, gw)
	case cfg.Gateway != "":
		if cfg.Wallet == "" {
			return nil, errors.New("flush: --gateway alone posts L1 transactions, which need an RSA Arweave wallet: give --wallet JWK (or --bundler URL)")
		}
		w, err := ans104.LoadKeyFile(cfg.Wallet)
		if err != nil {
			return nil, fmt.Errorf("flush: --wallet: %w", err)
		}
		return arweave.NewL1(cfg.Gateway, w)
	}
	return nil, errors.New("flush: no --gateway or --bundler")
}

// Path names the upload path, for logs.
func (f *Flusher) Path() string { return f.poster.Name() }

// Start runs the flusher until Stop.
func (f *Flusher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go f.run(ctx)
}

// Kick starts an upload now instead of at the next interval.
func (f *Flusher) Kick() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Stop ends the flusher. An upload in flight is abandoned where it is: its record stays in the
// store and the next start finishes it.
func (f *Flusher) Stop() {
	if f.stopped.Swap(true) {
		return
	}
	close(f.stop)
	f.cancel()
	<-f.done
}

// Stats returns a copy of the counters.
func (f *Flusher) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

func (f *Flusher) count(fn func(*Stats)) {
	f.mu.Lock()
	fn(&f.stats)
	f.mu.Unlock()
}

func (f *Flusher) run(ctx context.Context) {
	defer close(f.done)
	// Every error is retried, with backoff, until Stop (litestream's rule): a flusher that stops
	// leaves the node acknowledging writes that never reach Arweave. What keeps failing shows in
	// Health, the log and the metrics.
	wait := 500 * time.Millisecond
	for {
		err := f.resume(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		f.failed(err, nil)
		f.log.Error("flush: the upload in flight at the last stop cannot be finished yet; retrying", "in", wait, "err", err)
		if !f.sleep(ctx, wait) {
			return
		}
		wait = min(2*wait, f.cfg.RetryMax)
	}
	t := time.NewTicker(f.cfg.Interval)
	defer t.Stop()
	summary := time.NewTicker(30 * time.Second)
	defer summary.Stop()
	var last Stats
	wait = 500 * time.Millisecond
	for {
		select {
		case <-f.stop:
			return
		case <-summary.C:
			s := f.Stats()
			if s.Uploads != last.Uploads {
				f.log.Info("flushed to Arweave", "uploads", s.Uploads-last.Uploads, "entries", s.Entries-last.Entries,
					"items", s.Items-last.Items, "bytes", s.Bytes-last.Bytes, "retries", s.Retries-last.Retries)
			}
			last = s
			continue
		case <-t.C:
		case <-f.kick:
		}
		for {
			full, err := f.once(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				f.failed(err, nil)
				f.count(func(s *Stats) { s.Retries++ })
				f.m.retries.Inc()
				f.log.Error("flush: building an upload failed; retrying", "in", wait, "err", err)
				if !f.sleep(ctx, wait) {
					return
				}
				wait = min(2*wait, f.cfg.RetryMax)
				continue
			}
			wait = 500 * time.Millisecond
			if !full {
				break
			}
		}
	}
}

// sleep waits d or until the flusher stops; false when it stops.
func (f *Flusher) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// Drain uploads what is waiting until nothing is or ctx ends (a graceful stop's last flush), then
// stops the flusher. It reports how many log entries were still not on Arweave.
func (f *Flusher) Drain(ctx context.Context) (left uint64, err error) {
	defer f.Stop()
	for {
		left = 0
		if err := f.store.FlushBacklog(func(_ persistence.ID, flushed, length uint64) bool {
			left += length - flushed
			return true
		}); err != nil {
			return 0, err
		}
		items, err := f.store.QueuedItems(1)
		if err != nil {
			return left, err
		}
		if left == 0 && len(items) == 0 {
			return 0, nil
		}
		f.Kick()
		select {
		case <-ctx.Done():
			return left, ctx.Err()
		case <-f.done:
			return left, errors.New("flush: stopped")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// resume finishes an upload a previous run recorded but may not have posted.
func (f *Flusher) resume(ctx context.Context) error {
	rec, ok, err := f.store.FlushInFlight()
	if err != nil || !ok {
		return err
	}
	up, err := arweave.DecodeUpload(rec.Upload)
	if err != nil {
		return err
	}
	landed, err := f.landed(ctx, up)
	if err != nil {
		return err
	}
	f.log.Info("resuming the upload in flight at the last stop", "tx", up.TxID, "items", len(up.IDs), "already_there", landed)
	if !landed {
		if err := f.deliver(ctx, up, uploadProcs(rec, nil)); err != nil {
			return err
		}
		f.count(func(s *Stats) { s.Reposted++ })
	}
	if err := f.store.CompleteFlush(ctx); err != nil {
		return err
	}
	f.count(func(s *Stats) { s.Resumed++ })
	f.record(up, rec, nil)
	return nil
}

// landed asks the poster, retrying errors (the gateway may be down) until ctx ends.
func (f *Flusher) landed(ctx context.Context, up *arweave.Upload) (bool, error) {
	var ok bool
	err := f.retry(ctx, "check upload", func() error {
		var err error
		ok, err = f.poster.Landed(ctx, up)
		return err
	})
	return ok, err
}

// deliver posts up until it is accepted. After a failed attempt it first asks whether the upload
// landed anyway (the answer may have been lost), so it never posts what the gateway has.
//
// An L1 transaction refused with 400 (its anchor expired while the node was down, or the gateway
// rejects the envelope) is re-signed as a new envelope around the same recorded data items, and the
// in-flight record updated before it is posted: the items, their ids and the ranges stay the same.
func (f *Flusher) deliver(ctx context.Context, up *arweave.Upload, procs []persistence.ID) error {
	attempt := 0
	return f.retryFor(ctx, "upload", procs, func() error {
		attempt++
		if attempt > 1 {
			if ok, err := f.poster.Landed(ctx, up); err == nil && ok {
				return nil
			}
		}
		err := f.poster.Post(ctx, up)
		var se *arweave.StatusError
		if up.TxID != "" && errors.As(err, &se) && se.Code == http.StatusBadRequest {
			if rerr := f.reenvelope(ctx, up); rerr != nil {
				return errors.Join(err, rerr)
			}
			f.log.Warn("flush: the gateway refused the L1 transaction; re-signed the envelope around the same items", "err", err, "tx", up.TxID)
		}
		return err
	})
}

// reenvelope replaces up's L1 transaction with a new one around the same items.
func (f *Flusher) reenvelope(ctx context.Context, up *arweave.Upload) error {
	items := make([]*ans104.DataItem, len(up.Items))
	for i, raw := range up.Items {
		d, err := ans104.Parse(raw, ans104.Limits{})
		if err != nil {
			return err
		}
		items[i] = d
	}
	nu, err := f.poster.Prepare(ctx, items)
	if err != nil {
		return err
	}
	if err := f.store.ReplaceFlushUpload(ctx, nu.Encode()); err != nil {
		return err
	}
	*up = *nu
	return nil
}

// uploadProcs lists the processes an upload carries something of: log entries, checkpoints,
// result certificates, and (extra) Process items uploaded as standalone items, so that a refused
// upload names them whichever of their parts it holds.
func uploadProcs(rec *persistence.FlushRecord, extra []persistence.ID) []persistence.ID {
	seen := map[persistence.ID]bool{}
	var out []persistence.ID
	add := func(pid persistence.ID) {
		if !seen[pid] {
			seen[pid] = true
			out = append(out, pid)
		}
	}
	for _, l := range rec.Logs {
		add(l.Process)
	}
	for _, c := range rec.Checkpoints {
		add(c.Process)
	}
	for _, c := range rec.Certificates {
		add(c.Process)
	}
	for _, pid := range extra {
		add(pid)
	}
	return out
}

// retry runs fn until it succeeds, backing off exponentially from 500 ms to RetryMax.
func (f *Flusher) retry(ctx context.Context, what string, fn func() error) error {
	return f.retryFor(ctx, what, nil, fn)
}

// retryFor is retry for an upload carrying procs' entries: a failure is recorded against them.
func (f *Flusher) retryFor(ctx context.Context, what string, procs []persistence.ID, fn func() error) error {
	wait := 500 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			f.worked()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err() // stopping: not a failure worth a warning
		}
		f.failed(err, procs)
		f.count(func(s *Stats) { s.Retries++ })
		f.m.retries.Inc()
		f.log.Warn("flush: "+what+" failed; retrying", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, f.cfg.RetryMax)
	}
}

// batch is one upload being built.
type batch struct {
	items    []*ans104.DataItem
	bytes    int
	rec      persistence.FlushRecord
	entryTS  []int64 // acknowledgement times (ms) of the entries, for the lag metric
	cps      int
	certs    int
	logBytes int
	// procItems are the Process items among the standalone items (their ids are process ids).
	procItems []persistence.ID
}

// once builds, records, posts and completes one upload. full reports that it stopped at MaxBytes
// with more waiting.
func (f *Flusher) once(ctx context.Context) (full bool, err error) {
	b := &batch{}
	if full, err = f.addLogs(b); err != nil {
		return false, err
	}
	if err := f.addCheckpoints(b); err != nil {
		return false, err
	}
	if err := f.addCertificates(b); err != nil {
		return false, err
	}
	if more, err := f.addItems(b); err != nil {
		return false, err
	} else if more {
		full = true
	}
	if len(b.items) == 0 {
		return false, nil
	}
	var up *arweave.Upload
	if err := f.retry(ctx, "prepare upload", func() error {
		var err error
		up, err = f.poster.Prepare(ctx, b.items)
		return err
	}); err != nil {
		return false, err
	}
	b.rec.Upload = up.Encode()
	if err := f.store.PutFlushInFlight(ctx, &b.rec); err != nil {
		return false, err
	}
	start := time.Now()
	if err := f.deliver(ctx, up, uploadProcs(&b.rec, b.procItems)); err != nil {
		return false, err
	}
	if err := f.store.CompleteFlush(ctx); err != nil {
		return false, err
	}
	took := time.Since(start)
	f.m.uploadSeconds.Observe(took.Seconds())
	f.count(func(s *Stats) { s.UploadTime += took; s.LogBytes += int64(b.logBytes) })
	f.record(up, &b.rec, b)
	if f.cfg.OnUpload != nil {
		f.cfg.OnUpload(up.IDs)
	}
	f.log.Debug("uploaded", "path", f.poster.Name(), "tx", up.TxID, "items", len(up.IDs), "bytes", up.Bytes,
		"processes", len(b.rec.Logs), "took", time.Since(start))
	return full, nil
}

// record updates counters and metrics for a completed upload.
func (f *Flusher) record(up *arweave.Upload, rec *persistence.FlushRecord, b *batch) {
	var entries int64
	for _, l := range rec.Logs {
		entries += int64(l.To - l.From + 1)
	}
	f.count(func(s *Stats) {
		s.Uploads++
		s.Entries += entries
		s.Items += int64(len(up.IDs))
		s.Checkpoints += int64(len(rec.Checkpoints))
		s.Bytes += int64(up.Bytes)
	})
	f.m.uploads.Inc()
	f.m.entries.Add(float64(entries))
	f.m.bytes.Add(float64(up.Bytes))
	if b != nil {
		f.count(func(s *Stats) { s.Certificates += int64(b.certs) })
		now := time.Now().UnixMilli()
		for _, ts := range b.entryTS {
			f.m.lag.Observe(float64(max(0, now-ts)) / 1000)
		}
	}
}

// addLogs adds one Log-Batch item per process with unflushed entries, until MaxBytes. Processes
// are visited from a rotating start so that one long backlog does not starve the others.
func (f *Flusher) addLogs(b *batch) (full bool, err error) {
	type backlog struct {
		pid             persistence.ID
		flushed, length uint64
	}
	var bl []backlog
	var waiting uint64
	if err := f.store.FlushBacklog(func(pid persistence.ID, flushed, length uint64) bool {
		bl = append(bl, backlog{pid, flushed, length})
		waiting += length - flushed
		return true
	}); err != nil {
		return false, err
	}
	f.m.backlog.Set(float64(waiting))
	var oldest int64
	for _, p := range bl {
		if e, err := f.store.Entry(p.pid, p.flushed); err == nil && (oldest == 0 || e.Timestamp < oldest) {
			oldest = e.Timestamp
		}
	}
	f.mu.Lock()
	f.oldestTS = oldest
	f.mu.Unlock()
	if oldest > 0 {
		f.m.lagNow.Set(float64(max(0, time.Now().UnixMilli()-oldest)) / 1000)
	} else {
		f.m.lagNow.Set(0)
	}
	if len(bl) == 0 {
		return false, nil
	}
	f.rotate++
	start := f.rotate % len(bl)
	for i := range bl {
		p := bl[(start+i)%len(bl)]
		if b.bytes >= f.cfg.MaxBytes {
			return true, nil
		}
		more, err := f.addProcessLog(b, p.pid, p.flushed, p.length)
		if err != nil {
			return false, err
		}
		if more {
			full = true
		}
	}
	return full, nil
}

// addProcessLog adds entries flushed..length-1 of pid (as many as fit) as one Log-Batch item.
func (f *Flusher) addProcessLog(b *batch, pid persistence.ID, flushed, length uint64) (more bool, err error) {
	var entries []arweave.LogEntry
	var ts []int64
	size := 0
	next := flushed
	fits := true
	for fits && next < length && b.bytes+size < f.cfg.MaxBytes {
		page, err := f.store.Scan(persistence.Query{Process: pid, By: persistence.ByNonce, From: persistence.Bound(int64(next) - 1), To: persistence.Bound(int64(length - 1))}) // Limit 0: the store's default page, always allowed
		if err != nil {
			return false, err
		}
		if len(page.Entries) == 0 {
			break
		}
		for _, e := range page.Entries {
			if e.Nonce != next {
				return false, fmt.Errorf("flush: log of %s jumps from %d to %d", ans104.ID(pid), next, e.Nonce)
			}
			le := arweave.LogEntry{Nonce: e.Nonce, Assignment: e.Assignment}
			switch {
			case len(e.Message) > 0:
				le.Message = e.Message
			case e.MessageID == (persistence.ID{}):
				proc, err := f.store.Process(pid)
				if err != nil {
					return false, err
				}
				le.Message = proc.Item
			}
			n := len(le.Assignment) + len(le.Message) + 64
			// Always take at least one entry, even one larger than MaxBytes, or it would never go.
			if len(entries) > 0 && b.bytes+size+n > f.cfg.MaxBytes {
				fits = false
				break
			}
			entries = append(entries, le)
			ts = append(ts, e.Timestamp)
			size += n
			next++
		}
	}
	if len(entries) == 0 {
		return false, nil
	}
	item, err := arweave.LogBatch(pid, entries)
	if err != nil {
		return false, err
	}
	if err := item.Sign(f.signer); err != nil {
		return false, fmt.Errorf("flush: signing the log batch of %s: %w", ans104.ID(pid), err)
	}
	b.items = append(b.items, item)
	b.bytes += item.Size()
	b.logBytes += item.Size()
	b.rec.Logs = append(b.rec.Logs, persistence.FlushRange{Process: pid, From: flushed, To: next - 1})
	b.entryTS = append(b.entryTS, ts...)
	return next < length, nil
}

// addCheckpoints adds the newest queued checkpoint of each process whose log is on Arweave up to
// that checkpoint (after this upload): a checkpoint ahead of the flushed log could not be checked
// by anyone recomputing from Arweave.
func (f *Flusher) addCheckpoints(b *batch) error {
	queued, err := f.store.QueuedCheckpoints(10_000)
	if err != nil {
		return err
	}
	newest := map[persistence.ID]uint64{}
	var order []persistence.ID
	for _, q := range queued {
		if _, ok := newest[q.Process]; !ok {
			order = append(order, q.Process)
		}
		newest[q.Process] = max(newest[q.Process], q.Nonce)
	}
	flushedAfter := map[persistence.ID]uint64{}
	for _, l := range b.rec.Logs {
		flushedAfter[l.Process] = l.To + 1
	}
	for _, pid := range order {
		nonce := newest[pid]
		cursor, ok := flushedAfter[pid]
		if !ok {
			if cursor, err = f.store.FlushCursor(pid); err != nil {
				return err
			}
		}
		if cursor <= nonce {
			continue // its log is not all up yet
		}
		if b.bytes >= f.cfg.MaxBytes && len(b.items) > 0 {
			return nil
		}
		item, err := f.checkpointItem(pid, nonce)
		if errors.Is(err, persistence.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		b.items = append(b.items, item)
		b.bytes += item.Size()
		b.cps++
		b.rec.Checkpoints = append(b.rec.Checkpoints, persistence.QueuedCheckpoint{Process: pid, Nonce: nonce})
	}
	return nil
}

// addCertificates adds one Result-Batch item per process with queued result certificates, for the
// entries whose log is on Arweave after this upload (a certificate of an entry nobody can read yet
// could not be checked), until MaxBytes.
func (f *Flusher) addCertificates(b *batch) error {
	queued, err := f.store.QueuedCertificates(10_000)
	if err != nil || len(queued) == 0 {
		return err
	}
	flushedAfter := map[persistence.ID]uint64{}
	for _, l := range b.rec.Logs {
		flushedAfter[l.Process] = l.To + 1
	}
	cursor := func(pid persistence.ID) (uint64, error) {
		if c, ok := flushedAfter[pid]; ok {
			return c, nil
		}
		c, err := f.store.FlushCursor(pid)
		flushedAfter[pid] = c
		return c, err
	}
	for i := 0; i < len(queued); {
		pid := queued[i].Process
		j := i
		for j < len(queued) && queued[j].Process == pid {
			j++
		}
		group := queued[i:j]
		i = j
		c, err := cursor(pid)
		if err != nil {
			return err
		}
		var data []byte
		var from, to uint64
		n := 0
		for k, q := range group {
			if q.Nonce >= c {
				break
			}
			if k > 0 && b.bytes+len(data)+len(q.Data) > f.cfg.MaxBytes {
				break
			}
			if k == 0 {
				from = q.Nonce
			}
			to = q.Nonce
			data = append(data, q.Data...)
			n++
		}
		if len(data) == 0 {
			continue
		}
		if b.bytes >= f.cfg.MaxBytes && len(b.items) > 0 {
			return nil
		}
		item, err := arweave.ResultBatch(ans104.ID(pid), from, to, data)
		if err != nil {
			return err
		}
		if err := item.Sign(f.signer); err != nil {
			return fmt.Errorf("flush: signing the result batch of %s: %w", ans104.ID(pid), err)
		}
		b.items = append(b.items, item)
		b.bytes += item.Size()
		b.certs += n
		b.rec.Certificates = append(b.rec.Certificates, persistence.FlushRange{Process: pid, From: from, To: to})
	}
	return nil
}

func (f *Flusher) checkpointItem(pid persistence.ID, nonce uint64) (*ans104.DataItem, error) {
	cp, err := f.store.CheckpointAt(pid, nonce)
	if err != nil {
		return nil, err
	}
	proc, err := f.store.Process(pid)
	if err != nil {
		return nil, err
	}
	e, err := f.store.Entry(pid, nonce)
	if err != nil {
		return nil, err
	}
	item := arweave.CheckpointItem(ans104.Checkpoint{Process: pid, Module: proc.ModuleID, Nonce: nonce, Timestamp: cp.Timestamp,
		BlockHeight: cp.BlockHeight, HashChain: ans104.ID(e.HashChain).String(), Epoch: e.Epoch}, cp.SHA256, cp.Compressed)
	if err := item.Sign(f.signer); err != nil {
		return nil, fmt.Errorf("flush: signing checkpoint %d of %s: %w", nonce, ans104.ID(pid), err)
	}
	return item, nil
}

// addItems adds queued standalone items, oldest first, as themselves.
func (f *Flusher) addItems(b *batch) (more bool, err error) {
	queued, err := f.store.QueuedItems(1000)
	if err != nil {
		return false, err
	}
	for _, q := range queued {
		if b.bytes >= f.cfg.MaxBytes && len(b.items) > 0 {
			return true, nil
		}
		it, err := f.store.GetItem(q.ID)
		if errors.Is(err, persistence.ErrNotFound) {
			// Queued but gone (should not happen: items are never deleted): drop it from the queue.
			b.rec.Items = append(b.rec.Items, q)
			continue
		}
		if err != nil {
			return false, err
		}
		d, err := ans104.Parse(it.Raw, ans104.Limits{})
		if err != nil {
			return false, fmt.Errorf("flush: stored item %s: %w", ans104.ID(q.ID), err)
		}
		if len(b.items) > 0 && b.bytes+len(it.Raw) > f.cfg.MaxBytes {
			return true, nil
		}
		b.items = append(b.items, d)
		b.bytes += len(it.Raw)
		b.rec.Items = append(b.rec.Items, q)
		if d.Tags.Value("Type") == ans104.KindProcess {
			b.procItems = append(b.procItems, q.ID)
		}
	}
	return len(queued) == 1000, nil
}
