package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
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
	Progress io.Writer
}

// DefaultFlushConfig: 100 processes, 64 clients, 5,000 messages, 1 s / 4 MiB uploads.
func DefaultFlushConfig() FlushConfig {
	return FlushConfig{Processes: 100, Clients: 64, Messages: 5000, Format: "wasm32-unknown-emscripten2",
		Data: "x = (x or 0) + 1; return x", Interval: time.Second, MaxBytes: 4 << 20, Baseline: true}
}

// FlushReport holds the figures of one run.
type FlushReport struct {
	Processes   int     `json:"processes"`
	Clients     int     `json:"clients"`
	Messages    int     `json:"messages"`
	Acked       int     `json:"acked"`
	AckedPerSec float64 `json:"acked_per_sec"`
	AckP50ms    float64 `json:"ack_p50_ms"`
	AckP99ms    float64 `json:"ack_p99_ms"`
	// Flush lag: from a message's acknowledgement (client side) to the moment GET /{batch id}
	// returned the Log-Batch holding it.
	LagP50ms float64 `json:"flush_lag_p50_ms"`
	LagP90ms float64 `json:"flush_lag_p90_ms"`
	LagP99ms float64 `json:"flush_lag_p99_ms"`
	LagMaxMs float64 `json:"flush_lag_max_ms"`
	Readable int     `json:"readable"` // acknowledged messages found on the gateway
	// Uploads and bytes the node posted (L1 bundles: log batches, checkpoints, module and process
	// items), and per acknowledged message.
	Uploads         int64   `json:"uploads"`
	BytesOnArweave  int64   `json:"bytes_on_arweave"`
	BytesPerMessage float64 `json:"bytes_per_message"`
	// LogBytesPerMessage counts only the Log-Batch items (assignment + message + batch overhead).
	LogBytesPerMessage float64 `json:"log_bytes_per_message"`
	// UploadMs is the mean time from posting an upload to the gateway accepting it.
	UploadMs float64 `json:"upload_ms"`
	Retries  int64   `json:"retries"`
	// MessageBytes is the average signed message item, AssignmentBytes the node's assignment: the
	// floor of what a message costs on Arweave.
	MessageBytes    float64 `json:"message_bytes"`
	AssignmentBytes float64 `json:"assignment_bytes"`
	// Baseline: the same load with flushing off.
	BaselineAckedPerSec float64 `json:"baseline_acked_per_sec,omitempty"`
	BaselineAckP99ms    float64 `json:"baseline_ack_p99_ms,omitempty"`
	Gateway             string  `json:"gateway"`
	LazyEval            bool    `json:"lazy_eval"`
	OfferedRate         float64 `json:"offered_rate,omitempty"`
	LoadAvg             float64 `json:"load_avg"`
	FirstError          string  `json:"first_error,omitempty"`
}

// RunFlush runs the scenario.
func RunFlush(ctx context.Context, cfg FlushConfig) (FlushReport, error) {
	rep := FlushReport{Processes: cfg.Processes, Clients: cfg.Clients, Messages: cfg.Messages}
	if cfg.Processes <= 0 || cfg.Clients <= 0 || cfg.Messages <= 0 {
		return rep, errors.New("bench: processes, clients and messages must be positive")
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	tmp, err := os.MkdirTemp("", "actorweave-bench-flush-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(tmp)
	var ar *arlocal.Instance
	if cfg.Gateway == "" {
		fmt.Fprintln(progress, "starting arlocal")
		if ar, err = arlocal.Start(ctx, ""); err != nil {
			return rep, err
		}
		defer ar.Stop()
		cfg.Gateway = ar.URL
		w, err := ans104.GenerateRSASigner()
		if err != nil {
			return rep, err
		}
		cfg.Wallet = filepath.Join(tmp, "wallet.json")
		if err := ans104.SaveKeyFile(cfg.Wallet, w); err != nil {
			return rep, err
		}
		if err := ar.Mint(ctx, ans104.Address(w.SignatureType(), w.Owner())); err != nil {
			return rep, err
		}
	} else if cfg.Wallet == "" {
		return rep, errors.New("bench: --gateway needs --wallet (an RSA JWK funded on that gateway)")
	}
	rep.Gateway = cfg.Gateway

	r, err := runFlushOnce(ctx, cfg, filepath.Join(tmp, "flush"), true, ar, progress)
	if err != nil {
		return r, err
	}
	r.Gateway, r.LoadAvg, r.LazyEval, r.OfferedRate = rep.Gateway, loadAvg(), cfg.LazyEval, cfg.Rate
	if cfg.Baseline {
		fmt.Fprintln(progress, "baseline: the same load with flushing off")
		b, err := runFlushOnce(ctx, cfg, filepath.Join(tmp, "baseline"), false, nil, progress)
		if err != nil {
			return r, err
		}
		r.BaselineAckedPerSec, r.BaselineAckP99ms = b.AckedPerSec, b.AckP99ms
	}
	return r, nil
}

func runFlushOnce(ctx context.Context, cfg FlushConfig, dir string, flushOn bool, ar *arlocal.Instance, progress io.Writer) (FlushReport, error) {
	rep := FlushReport{Processes: cfg.Processes, Clients: cfg.Clients, Messages: cfg.Messages}
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
	rep.MessageBytes = float64(msgBytes) / float64(len(items))

	ackAt := make([]time.Time, cfg.Messages)
	lat := make([]time.Duration, cfg.Messages)
	ok := make([]bool, cfg.Messages)
	var next, done, errs atomic.Int64
	var firstErr atomic.Value
	stopBar := startBar(progress, "acked", cfg.Messages, &done)
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
			}
		}()
	}
	wg.Wait()
	ackDur := time.Since(start)
	stopBar()
	var good []time.Duration
	for i, l := range lat {
		if ok[i] {
			good = append(good, l)
		}
	}
	sort.Slice(good, func(i, j int) bool { return good[i] < good[j] })
	rep.Acked = len(good)
	if v := firstErr.Load(); v != nil {
		rep.FirstError = v.(string)
	}
	rep.AckedPerSec = float64(rep.Acked) / ackDur.Seconds()
	rep.AckP50ms, rep.AckP99ms = pct(good, 0.50), pct(good, 0.99)
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
	var lags []time.Duration
	readableMu.Lock()
	for i, it := range items {
		if t, in := readable[it.ID()]; ok[i] && in {
			lags = append(lags, max(0, t.Sub(ackAt[i])))
		}
	}
	readableMu.Unlock()
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	rep.Readable = len(lags)
	rep.LagP50ms, rep.LagP90ms, rep.LagP99ms = pct(lags, 0.50), pct(lags, 0.90), pct(lags, 0.99)
	if len(lags) > 0 {
		rep.LagMaxMs = float64(lags[len(lags)-1].Microseconds()) / 1000
	}
	// Let the flusher take the module, process items and checkpoints still queued, then count.
	time.Sleep(2 * cfg.Interval)
	watchWG.Wait()
	st := n.Flusher().Stats()
	rep.Uploads, rep.BytesOnArweave = st.Uploads, st.Bytes
	rep.BytesPerMessage = float64(st.Bytes) / float64(max(1, rep.Acked))
	rep.LogBytesPerMessage = float64(st.LogBytes) / float64(max(1, st.Entries))
	rep.Retries = st.Retries
	rep.UploadMs = float64(st.UploadTime.Milliseconds()) / float64(max(1, st.Uploads))
	readableMu.Lock()
	rep.AssignmentBytes = float64(asgBytes) / float64(max(1, asgCount))
	readableMu.Unlock()
	return rep, nil
}
