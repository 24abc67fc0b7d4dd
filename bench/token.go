package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
)

// TokenConfig is the `token` scenario: AO's canonical workload. A token process (Program.Token:
// aos-like Handlers in Lua, or the embedded benchmark module's token) holds the balances of Holders holder processes. A user's Eval on holder A makes A send
// a Transfer to the token through its outbox; the token debits A, credits B and sends a
// Debit-Notice to A and a Credit-Notice to B through its outbox, which A and B evaluate
// (Program.Holder). So every transfer is 4 evaluated messages (Eval, Transfer, 2 notices) and 3 pushes.
type TokenConfig struct {
	Exe string   // the actorweave binary the nodes run (os.Executable())
	Env []string // added to the nodes' environment
	// Nodes are the cluster sizes, one point each (1: a node alone), each node a child process.
	Nodes     []int
	Holders   int
	Transfers int
	// Clients post the users' Evals concurrently, each to a random member.
	Clients        int
	RequestTimeout time.Duration
	Timeout        time.Duration
	Module         []byte
	Format         string
	Progress       io.Writer
}

// DefaultTokenConfig: 1 and 3 nodes, 100 holders, 2,000 transfers, 16 clients.
func DefaultTokenConfig() TokenConfig {
	return TokenConfig{Nodes: []int{1, 3}, Holders: 100, Transfers: 2000, Clients: 16,
		RequestTimeout: time.Minute, Timeout: 10 * time.Minute, Format: "wasm32-unknown-emscripten2"}
}

// RunToken runs the scenario. Per point, prefixed nodesN_: transfers, transfers_per_sec (transfers ÷
// the time from the first user's post until every holder has evaluated every notice, checked by
// reading each holder's counts with an Eval behind them in its log), transfer_p50/p90/p99/max (ms
// from the user's post to the assignment of the later of its two notices at its receiver),
// node_cpu_ms_per_transfer (CPU of all node processes in the window ÷ transfers), peak_rss (sum
// of VmHWM), node_cores.
func RunToken(ctx context.Context, cfg TokenConfig) (*Report, error) {
	rep := NewReport("token")
	rep.Param("program", programFor(cfg.Module).Name(), "")
	rep.Param("holders", cfg.Holders, "")
	rep.Param("transfers", cfg.Transfers, "")
	rep.Param("clients", cfg.Clients, "")
	rep.Param("nodes", fmt.Sprint(cfg.Nodes), "")
	if cfg.Holders < 2 || cfg.Transfers <= 0 || cfg.Clients <= 0 || len(cfg.Nodes) == 0 {
		return nil, errors.New("bench: token needs at least 2 holders, 1 transfer, 1 client and a cluster size")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	progress := orDiscard(cfg.Progress)
	var first float64
	for i, n := range cfg.Nodes {
		p := fmt.Sprintf("nodes%d_", n)
		rate, err := runTokenPoint(ctx, cfg, n, p, rep, progress)
		if err != nil {
			return nil, fmt.Errorf("bench: token on %d nodes: %w", n, err)
		}
		if i == 0 {
			first = rate
		} else if first > 0 {
			rep.Figure(p+"vs_first_transfers_per_sec", rate/first, "x")
		}
	}
	rep.Note("every node is a child process of this binary on this machine; latency ends at the later notice's assignment timestamp (1 ms resolution), throughput at the last notice evaluated")
	return rep.Finish(), nil
}

func runTokenPoint(ctx context.Context, cfg TokenConfig, n int, p string, rep *Report, progress io.Writer) (float64, error) {
	dir, err := os.MkdirTemp("", "actorweave-bench-token-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(progress, "%d nodes: starting\n", n)
	nodes, err := startClusterNodes(ctx, ClusterConfig{Exe: cfg.Exe, Env: cfg.Env, RequestTimeout: cfg.RequestTimeout}, n, dir)
	defer func() { endAll(nodes, (*childNode).stop) }()
	if err != nil {
		return 0, err
	}
	user, err := ans104.GenerateEd25519Signer()
	if err != nil {
		return 0, err
	}
	clients := make([]*client.Client, n)
	for i, cn := range nodes {
		clients[i] = client.New(cn.url, user)
	}
	var mod ans104.ID
	if err := retry(ctx, func() error {
		var err error
		mod, err = clients[0].PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
		return err
	}); err != nil {
		return 0, fmt.Errorf("publish module: %w", err)
	}
	fmt.Fprintf(progress, "%d nodes: spawning the token and %d holders\n", n, cfg.Holders)
	pids := make([]ans104.ID, cfg.Holders+1) // pids[0]: the token
	if err := parallel(8, len(pids), func(i int) error {
		return retry(ctx, func() error {
			var err error
			pids[i], err = clients[i%n].Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprintf("token-bench-%d", i)}})
			return err
		})
	}); err != nil {
		return 0, fmt.Errorf("spawn: %w", err)
	}
	token, holders := pids[0], pids[1:]
	eval := func(c *client.Client, pid ans104.ID, code string) (string, error) {
		var out string
		err := retry(ctx, func() error {
			id, err := c.Send(ctx, pid, []byte(code), []ans104.Tag{{Name: "Action", Value: "Eval"}})
			if err != nil {
				return err
			}
			res, err := c.Result(ctx, pid, id)
			if err != nil {
				return err
			}
			if len(res.Error) > 0 && string(res.Error) != "null" && string(res.Error) != `""` {
				return fmt.Errorf("Eval on %s: %s", pid, res.Error)
			}
			var o struct {
				Data struct {
					Output any `json:"output"`
				} `json:"data"`
			}
			_ = json.Unmarshal(res.Output, &o)
			out = fmt.Sprint(o.Data.Output)
			return nil
		})
		return out, err
	}
	prog := programFor(cfg.Module)
	if _, err := eval(clients[0], token, prog.Token(holders, 1_000_000_000)); err != nil {
		return 0, fmt.Errorf("installing the token: %w", err)
	}
	if err := parallel(8, len(holders), func(i int) error {
		_, err := eval(clients[i%n], holders[i], prog.Holder(token))
		return err
	}); err != nil {
		return 0, fmt.Errorf("installing the holders: %w", err)
	}
	readers := make([]*logReader, len(holders))
	for i, h := range holders {
		readers[i] = newLogReader(clients[0], h)
		if _, err := readers[i].next(ctx); err != nil {
			return 0, err
		}
	}
	// Transfer t goes from holder t mod H to a holder a stride away (never itself).
	fmt.Fprintf(progress, "%d nodes: signing %d transfers\n", n, cfg.Transfers)
	items := make([]*ans104.DataItem, cfg.Transfers)
	if err := parallel(8, len(items), func(t int) error {
		from, to := t%cfg.Holders, (t+1+t/cfg.Holders)%cfg.Holders
		if to == from {
			to = (to + 1) % cfg.Holders
		}
		var err error
		items[t], err = clients[0].MessageItem(holders[from], []byte(prog.Transfer(holders[to], t)), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		return err
	}); err != nil {
		return 0, err
	}
	cpu0 := nodesCPU(nodes)
	sent := make([]int64, cfg.Transfers) // unix ms
	bar := StartProgress(progress, rep, "transfers", "transfers", cfg.Transfers)
	defer bar.Stop()
	start := time.Now()
	postErr := make(chan error, 1)
	go func() {
		postErr <- parallel(cfg.Clients, cfg.Transfers, func(t int) error {
			sent[t] = time.Now().UnixMilli()
			_, err := clients[rand.IntN(n)].PostItem(ctx, items[t])
			return err
		})
	}()
	// notices[t] = {Debit-Notice, Credit-Notice} assignment timestamps.
	notices := make([][2]int64, cfg.Transfers)
	seen := 0
	for seen < 2*cfg.Transfers {
		select {
		case err := <-postErr:
			if err != nil {
				return 0, fmt.Errorf("posting transfers: %w", err)
			}
			postErr = nil
		default:
		}
		if err := sleepCtx(ctx, pollInterval); err != nil {
			return 0, fmt.Errorf("%d of %d notices after %s: %w", seen, 2*cfg.Transfers, time.Since(start).Round(time.Millisecond), err)
		}
		for _, r := range readers {
			es, err := r.next(ctx)
			if err != nil {
				return 0, err
			}
			for _, e := range es {
				k := map[string]int{"Debit-Notice": 0, "Credit-Notice": 1}
				side, ok := k[e.Tags["Action"]]
				if !ok {
					if e.Tags["Action"] == "Transfer-Error" {
						return 0, fmt.Errorf("the token refused transfer %s: %s", e.Tags["X-Transfer"], e.Tags["Error"])
					}
					continue
				}
				t, err := strconv.Atoi(e.Tags["X-Transfer"])
				if err != nil || t < 0 || t >= cfg.Transfers || notices[t][side] != 0 {
					return 0, fmt.Errorf("unexpected notice %v in the log of %s", e.Tags, r.pid)
				}
				notices[t][side] = e.Timestamp
				seen++
				if notices[t][1-side] != 0 {
					bar.Add(1)
				}
			}
		}
	}
	if postErr != nil {
		if err := <-postErr; err != nil {
			return 0, fmt.Errorf("posting transfers: %w", err)
		}
	}
	// Every notice is in its receiver's log; an Eval behind them on every holder returns once
	// they are evaluated, with the counts to check.
	var mu sync.Mutex
	var debits, credits int
	if err := parallel(cfg.Clients, len(holders), func(i int) error {
		out, err := eval(clients[i%n], holders[i], prog.HolderCounts())
		if err != nil {
			return err
		}
		var d, c int
		if _, err := fmt.Sscan(out, &d, &c); err != nil {
			return fmt.Errorf("holder counts %q: %w", out, err)
		}
		mu.Lock()
		debits, credits = debits+d, credits+c
		mu.Unlock()
		return nil
	}); err != nil {
		return 0, fmt.Errorf("reading the holders' counts: %w", err)
	}
	wall := time.Since(start)
	bar.Stop()
	cpu := nodesCPU(nodes) - cpu0
	if debits != cfg.Transfers || credits != cfg.Transfers {
		return 0, fmt.Errorf("holders evaluated %d Debit-Notices and %d Credit-Notices, want %d each", debits, credits, cfg.Transfers)
	}
	lat := make([]float64, cfg.Transfers)
	for t := range lat {
		lat[t] = float64(max(notices[t][0], notices[t][1]) - sent[t])
	}
	var rss uint64
	for _, cn := range nodes {
		rss += cn.peakRSS()
	}
	rate := float64(cfg.Transfers) / wall.Seconds()
	rep.Figure(p+"transfers", float64(cfg.Transfers), "transfers")
	rep.Figure(p+"seconds", wall.Seconds(), "s")
	rep.Figure(p+"transfers_per_sec", rate, "transfers/s")
	rep.Figure(p+"node_cpu_ms_per_transfer", cpu*1000/float64(cfg.Transfers), "ms")
	rep.Figure(p+"node_cores", cpu/wall.Seconds(), "cores")
	rep.Figure(p+"peak_rss", float64(rss)/(1<<20), "MiB")
	rep.AddLatency(p+"transfer_", NewLatencyMs(p+"transfer", lat))
	fmt.Fprintf(progress, "%d nodes: %d transfers in %s\n", n, cfg.Transfers, wall.Round(time.Millisecond))
	return rate, nil
}
