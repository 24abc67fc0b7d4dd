package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/actorweave/actorweave/actors"
	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/flush"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/recovery/ondemand"
	"github.com/actorweave/actorweave/runtime"
	"github.com/actorweave/actorweave/weavedrive"
)

// Config is everything a node is started with. DefaultConfig gives a working single node.
type Config struct {
	DataDir string // Pebble, the node key and the compilation cache live here
	Listen  string // HTTP address
	// KeyFile is the node key (a JWK). Empty: <DataDir>/node-key.json, an ed25519 key created on
	// first start. An RSA Arweave JWK is used as given.
	KeyFile string
	// SchedulerKeyFile is the cluster's scheduler key (a JWK, --scheduler-key): every member signs
	// assignments, ticks, pushed items and flushed items with it, and processes name its address as
	// their Scheduler. Empty: derived from the cluster key in a cluster, the node key alone
	// (docs/scheduler-identity.md).
	SchedulerKeyFile string
	// SchedulerDelegations are Scheduler-Delegation item files (`actorweave delegate`) the node
	// keeps and flushes, so that logs partly signed by another key stay recoverable.
	SchedulerDelegations []string
	// BlockHeight is the Arweave height stamped on assignments while no gateway is configured.
	BlockHeight uint64
	API         api.Config
	Actors      actors.Config
	Runtime     runtime.Config
	Store       persistence.Options
	Flush       flush.Config // Arweave flush; without a gateway or bundler nothing is flushed
	Logger      *slog.Logger

	// Location is the Scheduler-Location record the node publishes (location.go).
	Location LocationConfig
	// Recovery rebuilds processes this node does not hold from the gateway (recover.go).
	Recovery RecoveryConfig
	// WeaveDrive answers processes' /data, /tx and /block reads from a gateway through a cache in
	// the store (weavedrive/); its gateway defaults to the recovery gateway, then the flush one.
	WeaveDrive weavedrive.Config
	// Cluster makes the node a member of a cluster (cluster.go); zero: a single node.
	Cluster ClusterConfig
	// Replication configures backup replication (--replication-factor): Factor 1 to
	// replication.MaxFactor copies of every acknowledged append; 0 is the default, the same as
	// replication.Config's: 2 in a cluster (or with a Placement), with Auto, and 1 alone.
	Replication replication.Config
	// Placement names each process's owner and backup (Proto.Actor addresses) instead of cluster
	// membership: tests with an explicit member list set it.
	Placement replication.Placement
	// DrainTimeout bounds the graceful leave Run does when its context ends (Drain: hand every
	// owned process to its successor, then leave); 0 leaves at once (the backups take over).
	DrainTimeout time.Duration

	remoteProbe func(addr string) error // set by clusterDeps
	itemProof   *awcluster.ItemProof    // set by clusterDeps: nil in a keyless (test) cluster
	port        *portHolder             // set by Run: the HTTP port it keeps open across restarts
}

// DefaultConfig: ./actorweave-data, 127.0.0.1:8734, and WAL fsyncs at least 2 ms apart.
//
// The WAL interval is the node's one departure from the store's defaults. Acknowledgements still
// wait for their fsync; spacing fsyncs lets each cover more of them. Measured with
// `actorweave bench ingest --processes 100 --clients 32 --lazy-eval --wait-evaluated=false`:
// 0 → ~4,700 acks/s (p99 17 ms); 1 ms → 5,800 (p99 14 ms); 2 ms → 7,600 (p99 10 ms). A lone
// client pays it: 0.67 → 1.9 ms per acknowledgement. `--wal-min-sync-interval 0` restores it.
func DefaultConfig() Config {
	store := persistence.DefaultOptions()
	store.WALMinSyncInterval = 2 * time.Millisecond
	return Config{DataDir: "actorweave-data", Listen: "127.0.0.1:8734", API: api.DefaultConfig(),
		Actors: actors.DefaultConfig(), Runtime: runtime.DefaultConfig(), Store: store, Flush: flush.DefaultConfig(),
		DrainTimeout: 30 * time.Second}
}

// Node is a running node.
type Node struct {
	cfg Config
	// closed makes Close idempotent: a second call (a deferred Close after an explicit one) must
	// not close channels or the store twice.
	closed   sync.Once
	closeErr error
	log      *slog.Logger
	store    *persistence.Store
	engine   *runtime.Engine
	host     *actors.Host
	signer   ans104.Signer // the node key: this member's own identity (its member name)
	sched    ans104.Signer // the scheduler key: signs everything about processes (schedkey.go)
	flush    *flush.Flusher
	// recoverer recovers processes from the gateway (nil without one); Close stops it.
	recoverer *ondemand.Recoverer
	srv       *http.Server
	ln        net.Listener
	held      *heldListener // Run's port (ln reads from it), or nil
	height    atomic.Uint64
	served    chan error
	repl      *replication.Replicator
	factor    int               // the replication factor in force (startReplication): replica sets are cut to it
	quorum    *awcluster.Quorum // the split-brain guard (nil on a single node)
	// stopQuorum ends the loop that records every view's members (cluster.Quorum.Follow).
	stopQuorum func()
	// rebalanceStop ends the rebalancing loop; rebalanceDone is closed when it has.
	rebalanceStop, rebalanceDone chan struct{}

	provider *awcluster.Provider // nil on a single node
	drained  atomic.Int64        // processes handed over by Drain
}

// Start opens everything and starts serving. The node is ready when Start returns.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger, served: make(chan error, 1)}
	n.height.Store(cfg.BlockHeight)
	var err error
	if n.signer, err = loadKey(cfg); err != nil {
		return nil, err
	}
	schedFrom := ""
	if n.sched, schedFrom, err = loadSchedulerKey(cfg, n.signer); err != nil {
		return nil, err
	}
	cfg.Store.Logger = cfg.Logger
	if n.store, err = persistence.Open(filepath.Join(cfg.DataDir, "pebble"), cfg.Store); err != nil {
		return nil, err
	}
	if cfg.Runtime.CacheDir == "" {
		cfg.Runtime.CacheDir = filepath.Join(cfg.DataDir, "wasm-cache")
	}
	if n.engine, err = runtime.NewEngine(ctx, cfg.Runtime); err != nil {
		n.store.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg.Actors.Logger = cfg.Logger
	// Result certificates go to Arweave with the log; without a flush nothing would drain them.
	cfg.Actors.Certify = cfg.Flush.Enabled()
	if err := errors.Join(n.delegateToScheduler(ctx), n.loadDelegations(ctx, cfg.SchedulerDelegations)); err != nil {
		n.engine.Close(ctx)
		n.store.Close()
		return nil, err
	}
	deps := actors.Deps{Store: n.store, Engine: n.engine, Signer: n.sched,
		Clock: func() int64 { return time.Now().UnixMilli() }, BlockHeight: n.height.Load, Registerer: reg,
		WireErrors: apiWireErrors()}
	if deps.Drive, err = n.startWeaveDrive(cfg); err != nil {
		n.engine.Close(ctx)
		n.store.Close()
		return nil, err
	}
	if cfg.Cluster.Enabled() {
		name := ans104.Address(n.signer.SignatureType(), n.signer.Owner())
		if n.provider, deps.RemoteOptions, err = clusterDeps(&cfg, name, n.fenced); err != nil {
			n.engine.Close(ctx)
			n.store.Close()
			return nil, err
		}
		deps.Cluster = n.provider
		deps.FetchItem = n.fetchItem
		deps.ItemProof = cfg.itemProof
	}
	n.host, err = actors.Start(cfg.Actors, deps)
	if err != nil {
		n.engine.Close(ctx)
		n.store.Close()
		return nil, err
	}
	if err := n.startFlush(reg); err != nil {
		n.Close(ctx)
		return nil, err
	}
	if err := n.startQuorum(); err != nil {
		n.Close(ctx)
		return nil, err
	}
	if err := n.startReplication(reg); err != nil {
		n.Close(ctx)
		return nil, err
	}
	if err := n.host.StartCrons(); err != nil { // after replication: ticks activate grains
		n.Close(ctx)
		return nil, err
	}
	registerWireMetrics(reg, n.host.Forwarder(), n.repl)
	if cfg.remoteProbe != nil {
		if err := cfg.remoteProbe(n.host.Members().View().Self.Address); err != nil {
			n.Close(ctx)
			return nil, err
		}
	}
	be := &backend{n: n}
	n.serveNodeOps(be)
	handler, err := api.New(n.apiBackend(be, cfg.Recovery, cfg.Flush.Gateway), cfg.API, reg, reg)
	if err != nil {
		n.Close(ctx)
		return nil, err
	}
	if n.provider != nil {
		// Everything peers call is registered now: let them see this member (cluster.go).
		if err := n.provider.Ready(); err != nil {
			n.Close(ctx)
			return nil, err
		}
	}
	if n.quorum != nil {
		// Peers' first heartbeats arrive a fraction of a lease after the join: wait for them
		// (bounded) so a restarted member does not refuse its first requests with "no quorum".
		// Cut off, it starts serving after the bound and answers 503 until it hears a majority.
		lease := n.provider.Lease()
		for deadline := time.Now().Add(2*lease + time.Second); n.quorum.Lease() != nil && time.Now().Before(deadline); {
			time.Sleep(lease / 10)
		}
	}
	if cfg.port != nil {
		n.held = cfg.port.listener()
		n.ln = n.held
	} else if n.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		n.Close(ctx)
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	n.ln = api.LimitListener(n.ln, cfg.API.Server.MaxConns)
	n.srv = api.NewHTTPServer(handler, cfg.API.Server)
	go func() { n.served <- n.srv.Serve(n.ln) }()
	n.publishLocation(ctx, be)
	n.log.Info("actorweave node started", "listen", n.ln.Addr().String(), "data", cfg.DataDir,
		"scheduler", n.host.Address(), "scheduler_key", schedFrom, "node_key", addressOf(n.signer), "key_type", n.signer.SignatureType().String())
	return n, nil
}

func loadKey(cfg Config) (ans104.Signer, error) {
	if cfg.KeyFile != "" {
		return ans104.LoadKeyFile(cfg.KeyFile)
	}
	s, created, err := ans104.LoadOrCreateEd25519(filepath.Join(cfg.DataDir, "node-key.json"))
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	if created {
		cfg.Logger.Info("created a new ed25519 node key", "file", filepath.Join(cfg.DataDir, "node-key.json"))
	}
	return s, nil
}

// Addr is the address the HTTP API listens on.
func (n *Node) Addr() string { return n.ln.Addr().String() }

// URL is http://Addr.
func (n *Node) URL() string { return "http://" + n.Addr() }

// Address is the scheduler key's wallet address: the Scheduler its processes name, the same on
// every member of a cluster.
func (n *Node) Address() string { return n.host.Address() }

// NodeAddress is the node key's wallet address: this member's own identity (its member name).
func (n *Node) NodeAddress() string { return addressOf(n.signer) }

// Wait blocks until the HTTP server stops.
func (n *Node) Wait() error {
	err := <-n.served
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops serving, passivates every process and closes the store.
func (n *Node) Close(ctx context.Context) error {
	n.closed.Do(func() { n.closeErr = n.close(ctx) })
	return n.closeErr
}

// close stops in the order that keeps every running thing's dependencies alive until it has
// stopped: HTTP intake (requests in flight get a short grace, then their connections are cut),
// then the actors (dry-runs cancelled, every grain passivated: an evaluation in progress finishes
// or is cancelled, instances closed), then the WebAssembly engine (which waits for any call still
// in module code: closing it under one unmaps memory that compiled code is using), then the store.
func (n *Node) close(ctx context.Context) error {
	if n.srv != nil && n.held != nil {
		// Run keeps the port: the next server (its stand-in) takes the connections from here on.
		handOver(ctx, n.srv, n.held, shutdownGrace)
	} else if n.srv != nil {
		sctx, cancel := context.WithTimeout(ctx, shutdownGrace)
		if err := n.srv.Shutdown(sctx); err != nil {
			_ = n.srv.Close()
		}
		cancel()
	}
	if n.rebalanceStop != nil {
		close(n.rebalanceStop)
		<-n.rebalanceDone
		n.rebalanceStop = nil
	}
	if n.stopQuorum != nil {
		n.stopQuorum()
		n.stopQuorum = nil
	}
	n.recoverer.Stop() // before the store closes under it
	if n.host != nil {
		_ = n.host.Stop(ctx)
	}
	if n.flush != nil {
		n.drainFlush(ctx)
	}
	if n.engine != nil {
		if err := n.engine.Close(ctx); err != nil {
			n.log.Warn("closing the WebAssembly engine", "err", err)
		}
	}
	if n.store != nil {
		return n.store.Close()
	}
	return nil
}

// shutdownGrace is how long requests in flight get to finish when the node closes.
const shutdownGrace = 2 * time.Second

// ActiveProcesses is the number of processes with a live activation.
func (n *Node) ActiveProcesses() int { return n.host.Active() }

// DataDir is the node's data folder.
func (n *Node) DataDir() string { return n.cfg.DataDir }
