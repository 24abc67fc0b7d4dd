package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/arlocal"
	"github.com/actorweave/actorweave/node"
)

// FlushConfig is the `flush` scenario: the ingest load on an in-process node that flushes to an
// Arweave gateway (arlocal started for the run, or Gateway), measuring how long an acknowledged
// message takes to be readable on the gateway and what it costs there.
type FlushConfig struct {
	// Gateway is an Arweave gateway that accepts L1 transactions from Wallet; empty starts arlocal.
	Gateway string
	// Wallet is the RSA JWK paying on Gateway; with arlocal a fresh one is generated and minted.
	Wallet    string
	Processes int
	Clients   int
	Messages  int
	Module    []byte
	Format    string
	Data      string
	// Interval and MaxBytes are the node's --flush-interval and --flush-max-bytes.
	Interval time.Duration
	MaxBytes int
	// Baseline runs the same load once more with flushing off, for the acknowledgement ratio.
	Baseline bool
	// Rate, when > 0, offers this many messages per second in total on a fixed schedule (open
	// loop) instead of posting as fast as the clients can.
	Rate float64
	// LazyEval runs the node with --lazy-eval: no evaluation competes with the flush for the CPU.
	LazyEval bool
	// NodeConfig, when set, adjusts the in-process node's configuration (flags of the verb).
	NodeConfig func(*node.Config)
	Progress   io.Writer
}

// DefaultFlushConfig: 100 processes, 64 clients, 5,000 messages, 1 s / 4 MiB uploads.
func DefaultFlushConfig() FlushConfig {
	return FlushConfig{Processes: 100, Clients: 64, Messages: 5000, Format: "wasm32-unknown-emscripten2",
		Interval: time.Second, MaxBytes: 4 << 20, Baseline: true}
}

// flushRun holds the figures of one run (with flushing, or the baseline without).
type flushRun struct {
	acked       int
	ackedPerSec float64
	ackLat      []time.Duration // acknowledgement latency of every acknowledged message
	// lags: from a message's acknowledgement (client side) to the moment GET /{batch id} returned
	// the Log-Batch holding it; one per acknowledged message found on the gateway.
	lags []time.Duration
	// Uploads and bytes the node posted (L1 bundles: log batches, checkpoints, module and process
	// items); logBytesPerMessage counts only the Log-Batch items (assignment + message + batch
	// overhead); uploadMs is the mean time from posting an upload to the gateway accepting it.
	uploads, bytesOnArweave, retries    int64
	bytesPerMessage, logBytesPerMessage float64
	uploadMs                            float64
	// messageBytes is the average signed message item, assignmentBytes the node's assignment: the
	// floor of what a message costs on Arweave.
	messageBytes, assignmentBytes float64
	firstError                    string
}

// RunFlush runs the scenario. Figures: acked, acked_per_sec, ack_p50/p90/p99/max (ms),
// flush_lag_p50/p90/p99/max (ms, acknowledgement → readable on the gateway), readable (acknowledged
// messages found on the gateway), uploads, upload_ms, retries, bytes_on_arweave,
// bytes_per_message, log_bytes_per_message, message_bytes, assignment_bytes and, with Baseline,
// baseline_acked_per_sec, baseline_ack_p99 and ack_ratio_flush_vs_baseline.
func RunFlush(ctx context.Context, cfg FlushConfig) (*Report, error) {
	rep := NewReport("flush")
	cfg.Data = evalData(programFor(cfg.Module), cfg.Data)
	rep.Param("program", programFor(cfg.Module).Name(), "")
	if cfg.Processes <= 0 || cfg.Clients <= 0 || cfg.Messages <= 0 {
		return nil, errors.New("bench: processes, clients and messages must be positive")
	}
	rep.Param("processes", cfg.Processes, "")
	rep.Param("clients", cfg.Clients, "")
	rep.Param("messages", cfg.Messages, "")
	rep.Param("flush_interval", cfg.Interval.String(), "")
	rep.Param("flush_max_bytes", cfg.MaxBytes, "bytes")
	rep.Param("lazy_eval", cfg.LazyEval, "")
	if cfg.Rate > 0 {
		rep.Param("offered_rate", cfg.Rate, "msgs/s")
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	tmp, err := os.MkdirTemp("", "actorweave-bench-flush-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var ar *arlocal.Instance
	if cfg.Gateway == "" {
		fmt.Fprintln(progress, "starting arlocal")
		if ar, err = arlocal.Start(ctx, ""); err != nil {
			return nil, fmt.Errorf("%w (flush needs an Arweave gateway: arlocal, which make deps installs, started from the repository, or --gateway with --wallet)", err)
		}
		defer ar.Stop()
		cfg.Gateway = ar.URL
		w, err := ans104.GenerateRSASigner()
		if err != nil {
			return nil, err
		}
		cfg.Wallet = filepath.Join(tmp, "wallet.json")
		if err := ans104.SaveKeyFile(cfg.Wallet, w); err != nil {
			return nil, err
		}
		if err := ar.Mint(ctx, ans104.Address(w.SignatureType(), w.Owner())); err != nil {
			return nil, err
		}
		rep.Param("gateway", "arlocal", "")
	} else if cfg.Wallet == "" {
		return nil, errors.New("bench: --gateway needs --wallet (an RSA JWK funded on that gateway)")
	} else {
		rep.Param("gateway", cfg.Gateway, "")
	}

	r, err := runFlushOnce(ctx, cfg, filepath.Join(tmp, "flush"), true, ar, rep, progress)
	if err != nil {
		return nil, err
	}
	rep.Figure("acked", float64(r.acked), "msgs")
	rep.Figure("acked_per_sec", r.ackedPerSec, "msgs/s")
	rep.AddLatency("ack_", NewLatency("ack", r.ackLat))
	rep.Figure("readable", float64(len(r.lags)), "msgs")
	rep.AddLatency("flush_lag_", NewLatency("flush lag (ack -> readable)", r.lags))
	rep.Figure("uploads", float64(r.uploads), "")
	rep.Figure("upload_ms", r.uploadMs, "ms")
	rep.Figure("retries", float64(r.retries), "")
	rep.Figure("bytes_on_arweave", float64(r.bytesOnArweave), "bytes")
	rep.Figure("bytes_per_message", r.bytesPerMessage, "bytes")
	rep.Figure("log_bytes_per_message", r.logBytesPerMessage, "bytes")
	rep.Figure("message_bytes", r.messageBytes, "bytes")
	rep.Figure("assignment_bytes", r.assignmentBytes, "bytes")
	if floor := r.messageBytes + r.assignmentBytes; floor > 0 {
		rep.Note("log bytes on Arweave per message / (message + assignment item): %.2f; all bytes (with module, process items, checkpoints): %.2f",
			r.logBytesPerMessage/floor, r.bytesPerMessage/floor)
	}
	if r.firstError != "" {
		rep.Note("first error: %s", r.firstError)
	}
	if cfg.Baseline {
		fmt.Fprintln(progress, "baseline: the same load with flushing off")
		b, err := runFlushOnce(ctx, cfg, filepath.Join(tmp, "baseline"), false, nil, rep, progress)
		if err != nil {
			return nil, err
		}
		bl := NewLatency("ack (baseline, no flush)", b.ackLat)
		rep.Latencies = append(rep.Latencies, bl)
		rep.Figure("baseline_acked_per_sec", b.ackedPerSec, "msgs/s")
		rep.Figure("baseline_ack_p99", bl.P99, "ms")
		if b.ackedPerSec > 0 {
			rep.Figure("ack_ratio_flush_vs_baseline", r.ackedPerSec/b.ackedPerSec, "")
			rep.Note("acknowledgements/s with flushing / without (same run, the baseline second): %.2f (p99 %.1f ms vs %.1f ms)",
				r.ackedPerSec/b.ackedPerSec, rep.Figures.Float("ack_p99"), bl.P99)
		}
	}
	return rep.Finish(), nil
}

func runFlushOnce(ctx context.Context, cfg FlushConfig, dir string, flushOn bool, ar *arlocal.Instance, report *Report, progress io.Writer) (flushRun, error) {
	var rep flushRun
	gw := arweave.NewGateway(cfg.Gateway)
	// The watcher: for every accepted upload, poll GET /{id} of its items until readable, and
	// record when each message in a Log-Batch became readable.
	var (
		readableMu sync.Mutex
		readable   = map[ans104.ID]time.Time{}
		asgBytes   int
		asgCount   int
		watchWG    sync.WaitGroup
	)
	watch := func(ids []ans104.ID) {
		watchWG.Add(1)
		go func() {
			defer watchWG.Done()
			for _, id := range ids {
				for ctx.Err() == nil {
					data, err := gw.Data(ctx, id.String())
					if err != nil {
						time.Sleep(20 * time.Millisecond)
						continue
					}
					now := time.Now()
					items, err := ans104.DecodeBundle(data, ans104.Limits{})
					if err != nil {
						break // not a Log-Batch (checkpoint, module, process item)
					}
					readableMu.Lock()
					for _, it := range items {
						if _, ok := readable[it.ID()]; !ok {
							readable[it.ID()] = now
							if it.Tags.Value("Type") == "Assignment" {
								asgBytes += it.Size()
								asgCount++
							}
						}
					}
					readableMu.Unlock()
					break
				}
			}
		}()
	}
	ncfg := node.DefaultConfig()
	ncfg.DataDir, ncfg.Listen = dir, "127.0.0.1:0"
	ncfg.Actors.LazyEval = cfg.LazyEval
	ncfg.API.RequestTimeout = time.Minute // spawning many processes at once compiles the module on a busy machine
	if flushOn {
		ncfg.Flush.Gateway, ncfg.Flush.Wallet = cfg.Gateway, cfg.Wallet
		ncfg.Flush.Interval, ncfg.Flush.MaxBytes = cfg.Interval, cfg.MaxBytes
		ncfg.Flush.OnUpload = watch
	}
	if cfg.NodeConfig != nil {
		cfg.NodeConfig(&ncfg)
	}
	n, err := node.Start(ctx, ncfg)
	if err != nil {
		return rep, err
	}
	defer n.Close(context.Background())
	user, err := ans104.GenerateEd25519Signer()
	if err != nil {
		return rep, err
	}
	if ar != nil { // arlocal indexes items of unknown signers only after /mine: make them known
		for _, a := range []string{n.Address(), ans104.Address(user.SignatureType(), user.Owner())} {
			if err := ar.Mint(ctx, a); err != nil {
				return rep, err
			}
		}
	}
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		return rep, fmt.Errorf("bench: publish module: %w", err)
	}
	pids := make([]ans104.ID, cfg.Processes)
	if err := parallel(cfg.Clients, cfg.Processes, func(i int) error {
		pid, err := c.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprintf("bench-%d", i)}})
		pids[i] = pid
		return err
	}); err != nil {
		return rep, fmt.Errorf("bench: spawn: %w", err)
	}
	items := make([]*ans104.DataItem, cfg.Messages)
	if err := parallel(8, cfg.Messages, func(i int) error {
		it, err := c.MessageItem(pids[i%cfg.Processes], []byte(cfg.Data), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		items[i] = it
		return err
	}); err != nil {
		return rep, err
	}
	var msgBytes int
	for _, it := range items {
		msgBytes += it.Size()
	}
	rep.messageBytes = float64(msgBytes) / float64(len(items))

	ackAt := make([]time.Time, cfg.Messages)
	lat := make([]time.Duration, cfg.Messages)
	ok := make([]bool, cfg.Messages)
	var next, done, errs atomic.Int64
	var firstErr atomic.Value
	what := "acked"
	if !flushOn {
		what = "acked (baseline, no flush)"
	}
	bar := StartProgress(progress, report, what, "msgs", cfg.Messages)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.Messages || ctx.Err() != nil {
					return
				}
				if cfg.Rate > 0 {
					time.Sleep(time.Until(start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))))
				}
				t0 := time.Now()
				_, err := c.PostItem(ctx, items[i])
				ackAt[i] = time.Now()
				lat[i] = ackAt[i].Sub(t0)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok[i] = true
				}
				done.Add(1)
				bar.Add(1)
			}
		}()
	}
	wg.Wait()
	ackDur := time.Since(start)
	bar.Stop()
	for i, l := range lat {
		if ok[i] {
			rep.ackLat = append(rep.ackLat, l)
		}
	}
	rep.acked = len(rep.ackLat)
	if v := firstErr.Load(); v != nil {
		rep.firstError = v.(string)
	}
	rep.ackedPerSec = float64(rep.acked) / ackDur.Seconds()
	if !flushOn {
		return rep, nil
	}

	fmt.Fprintln(progress, "waiting until every acknowledged message is readable on the gateway")
	deadline := time.Now().Add(10 * time.Minute)
	for {
		readableMu.Lock()
		missing := 0
		for i, it := range items {
			if _, in := readable[it.ID()]; ok[i] && !in {
				missing++
			}
		}
		readableMu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return rep, fmt.Errorf("bench: %d acknowledged messages not readable on the gateway after 10 minutes", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
	readableMu.Lock()
	for i, it := range items {
		if t, in := readable[it.ID()]; ok[i] && in {
			rep.lags = append(rep.lags, max(0, t.Sub(ackAt[i])))
		}
	}
	readableMu.Unlock()
	// Let the flusher take the module, process items and checkpoints still queued, then count.
	time.Sleep(2 * cfg.Interval)
	watchWG.Wait()
	st := n.Flusher().Stats()
	rep.uploads, rep.bytesOnArweave = st.Uploads, st.Bytes
	rep.bytesPerMessage = float64(st.Bytes) / float64(max(1, rep.acked))
	rep.logBytesPerMessage = float64(st.LogBytes) / float64(max(1, st.Entries))
	rep.retries = st.Retries
	rep.uploadMs = float64(st.UploadTime.Milliseconds()) / float64(max(1, st.Uploads))
	readableMu.Lock()
	rep.assignmentBytes = float64(asgBytes) / float64(max(1, asgCount))
	readableMu.Unlock()
	return rep, nil
}
