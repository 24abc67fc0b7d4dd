package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/node"
)

// MessagingConfig is the `pingpong` and `fanout` scenarios: processes messaging each other through
// their outboxes (the node evaluates, stores the result, pushes each outbox message to its target,
// which schedules it), no client in the loop.
//
// pingpong: Pairs pairs of processes; in each, A sends B a Ping with Hop=1, and each Ping with
// Hop=k < Hops is answered with a Ping with Hop=k+1, so each pair makes Hops hops in a row.
// fanout: one source process; each of Rounds Eval messages makes it send a Ping to each of Targets
// processes (Rounds×Targets deliveries); the Evals are posted back to back.
//
// Latency is read from the SU log (GET /:pid): a hop is the time from the assignment of the message
// that sent it to the assignment of the message it sent, so it covers evaluating, committing the
// result, pushing (signing, scheduling, fsync) — at the assignment timestamps' millisecond
// resolution, from one node's clock (two clocks with --node on a cluster).
type MessagingConfig struct {
	Node    string
	Module  []byte
	Format  string
	Pairs   int // pingpong
	Hops    int // pingpong, per pair
	Targets int // fanout
	Rounds  int // fanout
	Timeout time.Duration
	// NodeConfig adjusts the in-process node.
	NodeConfig func(*node.Config)
	Progress   io.Writer
}

// DefaultMessagingConfig: 4 pairs × 500 hops; 1 source × 50 targets × 20 rounds; 5 min timeout.
func DefaultMessagingConfig() MessagingConfig {
	return MessagingConfig{Format: "wasm32-unknown-emscripten2", Pairs: 4, Hops: 500, Targets: 50, Rounds: 20, Timeout: 5 * time.Minute}
}

// messagingSetup starts (or reaches) the node, publishes the module, spawns n processes and
// installs the Ping handler with the given limit on each.
func messagingSetup(ctx context.Context, cfg MessagingConfig, prefix string, n, limit int) (*target, *client.Client, []ans104.ID, error) {
	tg, err := startTarget(ctx, cfg.Node, prefix, cfg.NodeConfig)
	if err != nil {
		return nil, nil, nil, err
	}
	user, err := ans104.GenerateEd25519Signer()
	if err != nil {
		tg.close()
		return nil, nil, nil, err
	}
	c := client.New(tg.url, user)
	fail := func(err error) (*target, *client.Client, []ans104.ID, error) { tg.close(); return nil, nil, nil, err }
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		return fail(fmt.Errorf("bench: publish module: %w", err))
	}
	pids := make([]ans104.ID, n)
	err = parallel(8, n, func(i int) error {
		pid, err := c.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprintf("%s%d", prefix, i)}})
		if err != nil {
			return err
		}
		pids[i] = pid
		id, err := c.Send(ctx, pid, []byte(programFor(cfg.Module).PingHandler(limit)), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			return err
		}
		res, err := c.Result(ctx, pid, id)
		if err != nil {
			return err
		}
		if len(res.Error) > 0 && string(res.Error) != "null" && string(res.Error) != `""` {
			return fmt.Errorf("installing the Ping handler: %s", res.Error)
		}
		return nil
	})
	if err != nil {
		return fail(fmt.Errorf("bench: spawning %d processes: %w", n, err))
	}
	return tg, c, pids, nil
}

// logEntry is what the scenarios read of one SU log entry.
type logEntry struct {
	Nonce     int64
	Timestamp int64 // ms
	Tags      map[string]string
}

// logReader reads a process's SU log incrementally (GET /:pid?from-nonce=..., exclusive).
type logReader struct {
	c    *client.Client
	pid  ans104.ID
	last int64
}

func newLogReader(c *client.Client, pid ans104.ID) *logReader {
	return &logReader{c: c, pid: pid, last: -1}
}

// next returns the entries appended since the previous call.
func (l *logReader) next(ctx context.Context) ([]logEntry, error) {
	var out []logEntry
	for {
		b, err := l.c.Raw(ctx, "/"+l.pid.String()+"?from-nonce="+strconv.FormatInt(l.last, 10)+"&limit=1000")
		if err != nil {
			return out, err
		}
		var page struct {
			PageInfo struct {
				HasNextPage bool `json:"has_next_page"`
			} `json:"page_info"`
			Edges []struct {
				Node struct {
					Message *struct {
						Tags []ans104.Tag `json:"tags"`
					} `json:"message"`
					Assignment struct {
						Tags []ans104.Tag `json:"tags"`
					} `json:"assignment"`
				} `json:"node"`
			} `json:"edges"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return out, fmt.Errorf("bench: reading the log of %s: %w", l.pid, err)
		}
		for _, e := range page.Edges {
			le := logEntry{Tags: map[string]string{}}
			for _, t := range e.Node.Assignment.Tags {
				switch t.Name {
				case "Nonce":
					le.Nonce, _ = strconv.ParseInt(t.Value, 10, 64)
				case "Timestamp":
					le.Timestamp, _ = strconv.ParseInt(t.Value, 10, 64)
				}
			}
			if e.Node.Message != nil {
				for _, t := range e.Node.Message.Tags {
					le.Tags[t.Name] = t.Value
				}
			}
			out = append(out, le)
			l.last = le.Nonce
		}
		if !page.PageInfo.HasNextPage || len(page.Edges) == 0 {
			return out, nil
		}
	}
}

// pollInterval is how often the scenarios read the logs to see progress; the figures come from
// the assignment timestamps, not from when the poll noticed.
const pollInterval = 200 * time.Millisecond

// RunPingPong runs the pingpong scenario. Figures: hops, msgs_per_sec (hops ÷ the span from the
// first starting Eval's assignment to the last hop's, all pairs together), hop_p50/p90/p99/max
// (ms), hop_mean_ms_per_pair (a pair's span ÷ its hops: its one-at-a-time hop time).
func RunPingPong(ctx context.Context, cfg MessagingConfig) (*Report, error) {
	rep := NewReport("pingpong")
	rep.Param("program", programFor(cfg.Module).Name(), "")
	rep.Param("pairs", cfg.Pairs, "")
	rep.Param("hops", cfg.Hops, "per pair")
	rep.Param("node", nodeParam(cfg.Node), "")
	if cfg.Pairs <= 0 || cfg.Hops <= 0 {
		return nil, errors.New("bench: pairs and hops must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	progress := orDiscard(cfg.Progress)
	fmt.Fprintf(progress, "spawning %d processes\n", 2*cfg.Pairs)
	tg, c, pids, err := messagingSetup(ctx, cfg, "pingpong-", 2*cfg.Pairs, cfg.Hops)
	if err != nil {
		return nil, err
	}
	defer tg.close()
	readers := make([]*logReader, len(pids))
	for i, pid := range pids {
		readers[i] = newLogReader(c, pid)
		if _, err := readers[i].next(ctx); err != nil { // skip the set-up entries
			return nil, err
		}
	}
	bar := StartProgress(progress, rep, "hops", "msgs", cfg.Pairs*cfg.Hops)
	defer bar.Stop()
	start := time.Now()
	for p := 0; p < cfg.Pairs; p++ {
		a, b := pids[2*p], pids[2*p+1]
		code := programFor(cfg.Module).PingStart(b)
		if _, err := c.Send(ctx, a, []byte(code), []ans104.Tag{{Name: "Action", Value: "Eval"}, {Name: "Bench", Value: "start"}}); err != nil {
			return nil, fmt.Errorf("bench: starting pair %d: %w", p, err)
		}
	}
	// ts[p][k] is the assignment time of hop k of pair p (k = 0: the starting Eval on A).
	ts := make([][]int64, cfg.Pairs)
	for p := range ts {
		ts[p] = make([]int64, cfg.Hops+1)
	}
	seen := 0
	for seen < cfg.Pairs*cfg.Hops {
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return nil, fmt.Errorf("bench: %d of %d hops after %s: %w", seen, cfg.Pairs*cfg.Hops, time.Since(start).Round(time.Millisecond), err)
		}
		for i, r := range readers {
			es, err := r.next(ctx)
			if err != nil {
				return nil, err
			}
			for _, e := range es {
				if e.Tags["Bench"] == "start" {
					ts[i/2][0] = e.Timestamp
					continue
				}
				if e.Tags["Action"] != "Ping" {
					continue
				}
				k, err := strconv.Atoi(e.Tags["Hop"])
				if err != nil || k < 1 || k > cfg.Hops {
					return nil, fmt.Errorf("bench: unexpected Ping %v in the log of %s", e.Tags, pids[i])
				}
				ts[i/2][k] = e.Timestamp
				seen++
				bar.Add(1)
			}
		}
	}
	wall := time.Since(start)
	bar.Stop()
	var lat []float64
	var first, last int64
	var perPair []float64
	for p := range ts {
		for k := 1; k <= cfg.Hops; k++ {
			lat = append(lat, float64(ts[p][k]-ts[p][k-1]))
		}
		if first == 0 || ts[p][0] < first {
			first = ts[p][0]
		}
		last = max(last, ts[p][cfg.Hops])
		perPair = append(perPair, float64(ts[p][cfg.Hops]-ts[p][0])/float64(cfg.Hops))
	}
	hops := cfg.Pairs * cfg.Hops
	span := float64(last-first) / 1000
	rep.Figure("hops", float64(hops), "msgs")
	rep.Figure("span_seconds", span, "s")
	rep.Figure("msgs_per_sec", float64(hops)/max(span, 1e-3), "msgs/s")
	rep.Figure("wall_msgs_per_sec", float64(hops)/wall.Seconds(), "msgs/s")
	rep.Figure("hop_mean_ms_per_pair", median(perPair), "ms")
	rep.AddLatency("hop_", NewLatencyMs("hop", lat))
	rep.Note("hop latency from assignment timestamps (1 ms resolution); wall_msgs_per_sec includes up to %s of polling delay", pollInterval)
	return rep.Finish(), nil
}

// RunFanout runs the fanout scenario. Figures: deliveries, msgs_per_sec (deliveries ÷ the span from
// the first round's Eval assignment on the source to the last delivery's assignment),
// delivery_p50/p90/p99/max (ms from a round's Eval assignment on the source to each delivery's
// assignment on its target; later rounds queue behind earlier ones, as they are posted at once).
func RunFanout(ctx context.Context, cfg MessagingConfig) (*Report, error) {
	rep := NewReport("fanout")
	rep.Param("program", programFor(cfg.Module).Name(), "")
	rep.Param("targets", cfg.Targets, "")
	rep.Param("rounds", cfg.Rounds, "")
	rep.Param("node", nodeParam(cfg.Node), "")
	if cfg.Targets <= 0 || cfg.Rounds <= 0 {
		return nil, errors.New("bench: targets and rounds must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	progress := orDiscard(cfg.Progress)
	fmt.Fprintf(progress, "spawning %d processes\n", 1+cfg.Targets)
	// Limit 0: targets count the Ping and answer nothing.
	tg, c, pids, err := messagingSetup(ctx, cfg, "fanout-", 1+cfg.Targets, 0)
	if err != nil {
		return nil, err
	}
	defer tg.close()
	src, targets := pids[0], pids[1:]
	id, err := c.Send(ctx, src, []byte(programFor(cfg.Module).FanoutTargets(targets)), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err == nil {
		_, err = c.Result(ctx, src, id)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: setting the targets: %w", err)
	}
	srcReader := newLogReader(c, src)
	readers := make([]*logReader, len(targets))
	for i, pid := range targets {
		readers[i] = newLogReader(c, pid)
		if _, err := readers[i].next(ctx); err != nil {
			return nil, err
		}
	}
	if _, err := srcReader.next(ctx); err != nil {
		return nil, err
	}
	total := cfg.Targets * cfg.Rounds
	bar := StartProgress(progress, rep, "delivered", "msgs", total)
	defer bar.Stop()
	start := time.Now()
	for r := 1; r <= cfg.Rounds; r++ {
		code := programFor(cfg.Module).FanoutRound(r)
		if _, err := c.Send(ctx, src, []byte(code), []ans104.Tag{{Name: "Action", Value: "Eval"}, {Name: "Round", Value: strconv.Itoa(r)}}); err != nil {
			return nil, fmt.Errorf("bench: round %d: %w", r, err)
		}
	}
	roundTS := make([]int64, cfg.Rounds+1)
	var delivered [][2]int64 // (round, timestamp)
	for len(delivered) < total {
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return nil, fmt.Errorf("bench: %d of %d deliveries after %s: %w", len(delivered), total, time.Since(start).Round(time.Millisecond), err)
		}
		es, err := srcReader.next(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if r, err := strconv.Atoi(e.Tags["Round"]); err == nil && r >= 1 && r <= cfg.Rounds {
				roundTS[r] = e.Timestamp
			}
		}
		for _, rd := range readers {
			es, err := rd.next(ctx)
			if err != nil {
				return nil, err
			}
			for _, e := range es {
				r, err := strconv.Atoi(e.Tags["Round"])
				if e.Tags["Action"] != "Ping" || err != nil || r < 1 || r > cfg.Rounds {
					return nil, fmt.Errorf("bench: unexpected message %v in the log of %s", e.Tags, rd.pid)
				}
				delivered = append(delivered, [2]int64{int64(r), e.Timestamp})
				bar.Add(1)
			}
		}
	}
	wall := time.Since(start)
	bar.Stop()
	// A delivery implies its round's Eval was assigned; read the source's log once more in case
	// the last poll read it before that entry was visible.
	es, err := srcReader.next(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if r, err := strconv.Atoi(e.Tags["Round"]); err == nil && r >= 1 && r <= cfg.Rounds {
			roundTS[r] = e.Timestamp
		}
	}
	var lat []float64
	var last int64
	for _, d := range delivered {
		if roundTS[d[0]] == 0 {
			return nil, fmt.Errorf("bench: round %d delivered but its Eval is not in the source's log", d[0])
		}
		lat = append(lat, float64(d[1]-roundTS[d[0]]))
		last = max(last, d[1])
	}
	span := float64(last-roundTS[1]) / 1000
	rep.Figure("deliveries", float64(total), "msgs")
	rep.Figure("span_seconds", span, "s")
	rep.Figure("msgs_per_sec", float64(total)/max(span, 1e-3), "msgs/s")
	rep.Figure("wall_msgs_per_sec", float64(total)/wall.Seconds(), "msgs/s")
	rep.AddLatency("delivery_", NewLatencyMs("delivery", lat))
	rep.Note("latency from assignment timestamps (1 ms resolution); all rounds are posted at once, so later rounds queue behind earlier ones")
	return rep.Finish(), nil
}

func nodeParam(url string) string {
	if url == "" {
		return "in-process"
	}
	return url
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
