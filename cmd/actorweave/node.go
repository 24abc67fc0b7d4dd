package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/node"
	"github.com/actorweave/actorweave/runtime"
)

func newNodeCmd() *cobra.Command {
	cfg := node.DefaultConfig()
	var configPath, logLevel string
	var memoryLimit string
	var cf *clusterFlags
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a node: the MU, SU and CU roles of AO on one HTTP port",
		Long: `Run an actorweave node. It keeps its state in --data (Pebble, the node key, the compiled-module
cache) and serves the AO messenger, scheduler and compute APIs, and the gateway subset aoconnect
needs, on --listen. Point aoconnect's MU_URL, CU_URL and GATEWAY_URL at it.

Every flag can also be set with an environment variable ACTORWEAVE_<FLAG> (ACTORWEAVE_LISTEN,
ACTORWEAVE_IDLE_TIMEOUT, ...) or in a JSON file given with --config; a flag on the command line wins
over the environment, which wins over the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnvAndConfig(cmd, configPath); err != nil {
				return err
			}
			if err := cf.apply(&cfg); err != nil {
				return err
			}
			if err := replication.CheckFactor(cfg.Replication.Factor); err != nil {
				return fmt.Errorf("--replication-factor: %w", err)
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			if memoryLimit != "" {
				n, err := runtime.ParseMemoryLimit(memoryLimit)
				if err != nil {
					return fmt.Errorf("--memory-limit: %w", err)
				}
				cfg.Runtime.Limits.MemoryLimit = n
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// node.Run restarts the node with a new cluster identity when the watchdog fences it
			// (same data, same ports; it rejoins the members it remembers).
			// SIGTERM drains first (--drain-timeout); SIGHUP reloads the capacity from --config.
			var cur atomic.Pointer[node.Node]
			hupStop := make(chan struct{})
			defer close(hupStop)
			reloadCapacityOnHUP(configPath, cur.Load, cfg.Logger, hupStop)
			return node.Run(ctx, cfg, func(n *node.Node) {
				cur.Store(n)
				fmt.Fprintf(cmd.OutOrStdout(), "actorweave node listening on %s (scheduler %s)\n", n.URL(), n.Address())
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "JSON file of settings (flag names as keys)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data folder (Pebble store, node key, compiled-module cache)")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP address to serve on")
	f.StringVar(&cfg.Location.URL, "public-url", "", "the URL clients reach this node at, published in its Scheduler-Location record; default: http://<listen address>")
	f.DurationVar(&cfg.Location.TTL, "scheduler-location-ttl", node.DefaultLocationTTL, "Time-To-Live of the Scheduler-Location record (how long clients may cache the node's URL)")
	f.BoolVar(&cfg.Location.Disabled, "no-scheduler-location", false, "publish no Scheduler-Location record")
	f.StringVar(&cfg.KeyFile, "key", "", "node key, a JWK (ed25519 or Arweave RSA); default: <data>/node-key.json, an ed25519 key created on first start")
	f.StringVar(&cfg.SchedulerKeyFile, "scheduler-key", "", "the cluster's scheduler key, a JWK shared by every member like --cluster-key: it signs assignments, ticks, pushed messages and flushed items, and processes name its address as Scheduler; default: derived from --cluster-key in a cluster, the node key alone (docs/scheduler-identity.md)")
	f.StringArrayVar(&cfg.SchedulerDelegations, "scheduler-delegation", nil, "a Scheduler-Delegation item file (actorweave delegate) to keep and flush to Arweave, so logs partly signed by another key stay recoverable; repeatable")
	f.Uint64Var(&cfg.BlockHeight, "block-height", 0, "Arweave block height stamped on assignments (no gateway is configured)")
	f.IntVar(&cfg.Replication.Factor, "replication-factor", 0, "copies of every acknowledged append, 1 to 5: N = the owner and the next N-1 members of the process's placement order (its backups), each holding every acknowledged write, so the cluster keeps them through the loss of N-1 members and writes while N members can hold the process; 1 = owner only. 0 or unset: the default, 2 in a cluster (a member alone until a second one joins writes alone), 1 without --cluster-listen")
	f.DurationVar(&cfg.Replication.Timeout, "replication-timeout", 5*time.Second, "bound of one request from an owner to a backup")
	f.DurationVar(&cfg.Replication.WaitBackup, "replication-wait", 10*time.Second, "how long a write waits for an unreachable backup to answer or be replaced by membership before it is refused (503)")
	bindItemLimits(f, &cfg.API.Limits)
	f.DurationVar(&cfg.API.ResultTimeout, "result-timeout", cfg.API.ResultTimeout, "how long GET /result and dry-runs wait for an evaluation")
	f.DurationVar(&cfg.API.RequestTimeout, "request-timeout", cfg.API.RequestTimeout, "bound of every other request")
	f.Int64Var(&cfg.API.MaxDryRunBytes, "max-dry-run-bytes", cfg.API.MaxDryRunBytes, "largest dry-run body")
	f.DurationVar(&cfg.Actors.IdleTimeout, "idle-timeout", cfg.Actors.IdleTimeout, "passivate a process after this long without requests")
	f.IntVar(&cfg.Actors.MaxBatch, "max-batch", cfg.Actors.MaxBatch, "most submits of one process made durable in one append")
	f.IntVar(&cfg.Actors.MaxPending, "max-pending", cfg.Actors.MaxPending, "most submits waiting at one process; more are refused with 503")
	f.IntVar(&cfg.Actors.MaxActive, "max-active", cfg.Actors.MaxActive, "most live process activations; above it the least recently used idle ones passivate")
	f.BoolVar(&cfg.Actors.LazyEval, "lazy-eval", false, "evaluate a process only when a result, dry-run or state is asked for (as the reference CU); outbox messages are then pushed only then")
	f.IntVar(&cfg.Actors.CheckpointEvery, "checkpoint-every", cfg.Actors.CheckpointEvery, "checkpoint a process's memory every N evaluations")
	f.IntVar(&cfg.Actors.CheckpointOnPassivate, "checkpoint-on-passivate", cfg.Actors.CheckpointOnPassivate, "on passivation, checkpoint if at least N evaluations happened since the last")
	f.DurationVar(&cfg.Actors.CheckpointInterval, "checkpoint-interval", cfg.Actors.CheckpointInterval, "also checkpoint a process that evaluated something when its last checkpoint is this old (0: off)")
	f.IntVar(&cfg.API.GraphQL.Budget, "graphql-budget", cfg.API.GraphQL.Budget, "cost one GraphQL request may have: the sum over its transactions fields (aliases included) of first × (1 + selected fields); more is a 400")
	f.IntVar(&cfg.API.GraphQL.MaxQueryBytes, "graphql-max-query-bytes", cfg.API.GraphQL.MaxQueryBytes, "largest GraphQL query text")
	f.IntVar(&cfg.API.GraphQL.MaxDepth, "graphql-max-depth", cfg.API.GraphQL.MaxDepth, "deepest GraphQL field nesting")
	sl := &cfg.API.Server
	f.DurationVar(&sl.ReadTimeout, "http-read-timeout", sl.ReadTimeout, "bound of reading one request, body included")
	f.DurationVar(&sl.WriteTimeout, "http-write-timeout", sl.WriteTimeout, "bound of answering one request (keep above --result-timeout)")
	f.DurationVar(&sl.IdleTimeout, "http-idle-timeout", sl.IdleTimeout, "close keep-alive connections idle this long")
	f.Int64Var(&sl.MinBodyRate, "http-min-body-rate", sl.MinBodyRate, "slowest request body accepted, bytes/s after --http-body-grace (0: off)")
	f.DurationVar(&sl.BodyGrace, "http-body-grace", sl.BodyGrace, "time a request body may take before --http-min-body-rate applies")
	f.IntVar(&sl.MaxConns, "http-max-conns", sl.MaxConns, "HTTP connections open at once (more wait to be accepted)")
	f.Int64Var(&sl.MaxInFlight, "http-max-body-in-flight", sl.MaxInFlight, "request body bytes being read at once (declared lengths); more get 503")
	f.DurationVar(&cfg.API.ControlWindow, "control-window", cfg.API.ControlWindow, "how far a control item's (monitor, unmonitor) Timestamp tag may be from the node's clock")
	f.BoolVar(&cfg.API.ControlRequireTags, "control-require-tags", false, "refuse control items without Action and Timestamp tags (aoconnect's monitor/unmonitor send none)")
	f.IntVar(&cfg.Actors.DryRun.Workers, "dry-run-workers", cfg.Actors.DryRun.Workers, "dry-runs evaluated at once, node-wide (apart from the processes' own evaluations)")
	f.IntVar(&cfg.Actors.DryRun.Queue, "dry-run-queue", cfg.Actors.DryRun.Queue, "dry-runs waiting for a worker, node-wide; more are refused with 503")
	f.IntVar(&cfg.Actors.DryRun.PerProcess, "dry-run-per-process", cfg.Actors.DryRun.PerProcess, "dry-runs of one process queued or running; more are refused with 429")
	f.DurationVar(&cfg.Actors.DryRun.Deadline, "dry-run-deadline", cfg.Actors.DryRun.Deadline, "wall-clock bound of one dry-run, waiting included")
	f.DurationVar(&cfg.Actors.CertifyMemoryEvery, "certify-memory-every", cfg.Actors.CertifyMemoryEvery, "with a flush, a process's result certificate also carries the memory hash after its entry when its last one did this long ago (0: never; hashing a 6 MiB memory costs about five Evals)")
	f.IntVar(&cfg.Actors.MaxResultBytes, "max-result-bytes", cfg.Actors.MaxResultBytes, "largest result of one evaluation (output and outbox); a larger one is recorded as an Error")
	bindFlushFlags(f, &cfg.Flush)
	bindRecoveryFlags(f, &cfg.Recovery)
	bindWeaveDriveFlags(f, &cfg.WeaveDrive, "--recover-gateway, else --gateway; none: no drive")
	f.StringVar(&memoryLimit, "memory-limit", "", "default Memory-Limit of processes whose module and process name none (e.g. 512-mb)")
	f.Uint64Var(&cfg.Runtime.Limits.ComputeLimit, "compute-limit", cfg.Runtime.Limits.ComputeLimit, "default Compute-Limit (gas) of processes whose module and process name none")
	f.DurationVar(&cfg.Runtime.Limits.Deadline, "deadline", cfg.Runtime.Limits.Deadline, "wall-clock bound of one message's evaluation")
	f.DurationVar(&cfg.Store.WALMinSyncInterval, "wal-min-sync-interval", cfg.Store.WALMinSyncInterval, "space WAL fsyncs at least this far apart so each covers more acknowledgements (0: fsync at once; lowest latency for a lone client)")
	f.IntVar(&cfg.Store.MaxScanLimit, "max-page", cfg.Store.MaxScanLimit, "largest page of a process's log one request may read")
	bindCronFlags(f, &cfg.Actors)
	cf = bindClusterFlags(f, &cfg)
	f.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "on SIGTERM/SIGINT in a cluster, how long to spend handing owned processes to their successors before leaving (0: leave at once; the backups take over)")
	withCPUProfile(cmd)
	return cmd
}
