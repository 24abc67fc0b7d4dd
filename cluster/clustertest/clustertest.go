// Package clustertest starts clusters of real nodes for tests: each node is a separate OS process
// (the test binary re-executed, see Main) with its own data folder, HTTP listener, memberlist (real
// UDP and TCP) and Proto.Actor remote (gRPC with mutual TLS) on random loopback ports; all share
// one freshly generated cluster key. Separate processes make kill -9 real, and keep protoactor's
// process-global state (gRPC's logger, replaced by every Remote.Start) out of the race detector's
// way (docs/design.md §8). It is for tests only and must not be imported by non-test code.
//
// A package that uses it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { clustertest.Main(m) }
package clustertest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
	"github.com/actorweave/actorweave/node"
)

const envNode = "AW_CLUSTERTEST_NODE" // the child's NodeConfig, JSON

// NodeConfig is what a child node is started with.
type NodeConfig struct {
	Dir            string
	Listen         string
	Cluster        node.ClusterConfig
	RequestTimeout time.Duration
	IdleTimeout    time.Duration
	LazyEval       bool
	// ReplicationFactor is --replication-factor (0: the default, 2 in a cluster).
	ReplicationFactor int
	// CompileCache is the wasm compilation cache folder; the harness gives all nodes of the test
	// binary one (internal/testutil/wasmcache), so a module is compiled once per binary, not once
	// per node (compiling under -race costs seconds of CPU that the rest of the suite competes for).
	CompileCache string
	// RecoveryGateway is the gateway processes no member holds are recovered from (node
	// RecoveryConfig.Gateway); empty: no recovery.
	RecoveryGateway string
}

// ready is what a child writes once serving (or the error it failed with).
type ready struct {
	URL, Gossip, Remote, ID string
	Err                     string
}

// Main runs the tests, or, in a child process started by the harness, a node until SIGTERM
// (graceful close) or SIGKILL.
func Main(m *testing.M) {
	if js := os.Getenv(envNode); js != "" {
		os.Exit(runChild(js))
	}
	code := m.Run()
	wasmcache.Cleanup()
	os.Exit(code)
}

func runChild(js string) int {
	var nc NodeConfig
	if err := json.Unmarshal([]byte(js), &nc); err != nil {
		fmt.Fprintln(os.Stderr, "clustertest child:", err)
		return 2
	}
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.Listen, cfg.Cluster = nc.Dir, nc.Listen, nc.Cluster
	if nc.RequestTimeout > 0 {
		cfg.API.RequestTimeout = nc.RequestTimeout
	}
	if nc.IdleTimeout > 0 {
		cfg.Actors.IdleTimeout = nc.IdleTimeout
	}
	cfg.Actors.LazyEval = nc.LazyEval
	cfg.Replication.Factor = nc.ReplicationFactor
	cfg.Recovery.Gateway = nc.RecoveryGateway
	if nc.CompileCache != "" {
		cfg.Runtime.CacheDir = nc.CompileCache
	}
	// node.Run: until SIGTERM (graceful close); a node the cluster fences restarts under a new
	// member id on the same ports, and writes ready.json again.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	started := false
	err := node.Run(ctx, cfg, func(n *node.Node) {
		started = true
		v := n.Members().View()
		writeReady(nc.Dir, ready{URL: n.URL(), Gossip: n.ClusterProvider().GossipAddr(), Remote: v.Self.Address, ID: v.Self.ID})
	})
	if err != nil {
		if !started {
			writeReady(nc.Dir, ready{Err: err.Error()})
			return 3
		}
		fmt.Fprintln(os.Stderr, "clustertest child: node stopped:", err)
		return 1
	}
	return 0
}

func writeReady(dir string, r ready) {
	b, _ := json.Marshal(r)
	p := filepath.Join(dir, "ready.json")
	_ = os.WriteFile(p+".tmp", b, 0o600)
	_ = os.Rename(p+".tmp", p)
}

// Options shape a cluster. Zero values: capacity 1, no labels, a fresh key.
type Options struct {
	Capacities []uint32
	Labels     []awcluster.Labels
	// KeyFile overrides the generated cluster key.
	KeyFile string
	// Configure adjusts node i's configuration before it starts.
	Configure func(i int, cfg *NodeConfig)
	// ConvergeTimeout bounds the wait for every node to see every other (default 30 s).
	ConvergeTimeout time.Duration
}

// Node is one child node process.
type Node struct {
	Index  int
	Config NodeConfig
	URL    string // http://127.0.0.1:port
	Gossip string // memberlist address
	Remote string // Proto.Actor remote address
	ID     string // member id of this incarnation
	cmd    *exec.Cmd
	exited chan struct{}
}

// Cluster is a running test cluster.
type Cluster struct {
	t       testing.TB
	opts    Options
	KeyFile string
	cache   string
	mu      sync.Mutex
	nodes   []*Node
}

// NewKeyFile writes a random 32-byte cluster key into a temporary folder.
func NewKeyFile(t testing.TB) string {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cluster.key")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Start starts n nodes, each joining the first, and waits until all see all.
func Start(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	c := &Cluster{t: t, opts: opts, KeyFile: opts.KeyFile, cache: wasmcache.Dir(t)}
	if c.KeyFile == "" {
		c.KeyFile = NewKeyFile(t)
	}
	t.Cleanup(c.Close)
	for i := 0; i < n; i++ {
		if _, err := c.Add(); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	c.WaitConverged(n)
	return c
}

// Config returns the configuration node i would start with.
func (c *Cluster) Config(i int) NodeConfig {
	nc := NodeConfig{Dir: c.t.TempDir(), Listen: "127.0.0.1:0",
		// Every node compiles the module on its first spawn; under -race on a shared 2-core
		// machine that alone can take longer than the default request bound.
		RequestTimeout: time.Minute, CompileCache: c.cache,
		Cluster: node.ClusterConfig{Listen: "127.0.0.1:0", KeyFile: c.KeyFile, Capacity: 1, Resync: 200 * time.Millisecond}}
	if i < len(c.opts.Capacities) {
		nc.Cluster.Capacity = c.opts.Capacities[i]
	}
	if i < len(c.opts.Labels) {
		nc.Cluster.Labels = c.opts.Labels[i]
	}
	for _, n := range c.Running() {
		nc.Cluster.Join = append(nc.Cluster.Join, n.Gossip)
	}
	if c.opts.Configure != nil {
		c.opts.Configure(i, &nc)
	}
	return nc
}

// Add starts one more node joining the cluster (it does not wait for convergence).
func (c *Cluster) Add() (*Node, error) {
	c.mu.Lock()
	i := len(c.nodes)
	c.mu.Unlock()
	return c.StartNode(c.Config(i))
}

// StartNode starts a child node with nc and, once it serves, adds it to the cluster's list.
func (c *Cluster) StartNode(nc NodeConfig) (*Node, error) {
	js, err := json.Marshal(nc)
	if err != nil {
		return nil, err
	}
	_ = os.Remove(filepath.Join(nc.Dir, "ready.json"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envNode+"="+string(js))
	logf, err := os.OpenFile(filepath.Join(nc.Dir, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	n := &Node{Config: nc, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(n.exited) }()
	deadline := time.After(2 * time.Minute)
	for {
		if b, err := os.ReadFile(filepath.Join(nc.Dir, "ready.json")); err == nil {
			var r ready
			if err := json.Unmarshal(b, &r); err != nil {
				return nil, err
			}
			if r.Err != "" {
				<-n.exited
				return nil, errors.New(r.Err)
			}
			n.URL, n.Gossip, n.Remote, n.ID = r.URL, r.Gossip, r.Remote, r.ID
			break
		}
		select {
		case <-n.exited:
			if b, err := os.ReadFile(filepath.Join(nc.Dir, "ready.json")); err == nil {
				var r ready
				if json.Unmarshal(b, &r) == nil && r.Err != "" {
					return nil, errors.New(r.Err)
				}
			}
			return nil, fmt.Errorf("clustertest: node exited before serving; log:\n%s", tail(filepath.Join(nc.Dir, "node.log")))
		case <-deadline:
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("clustertest: node did not start within 2 minutes; log:\n%s", tail(filepath.Join(nc.Dir, "node.log")))
		case <-time.After(20 * time.Millisecond):
		}
	}
	c.mu.Lock()
	n.Index = len(c.nodes)
	c.nodes = append(c.nodes, n)
	c.mu.Unlock()
	return n, nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Status asks node n for GET /cluster/status.
func (n *Node) Status(ctx context.Context) (*node.ClusterStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.URL+"/cluster/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/cluster/status: %s", n.URL, resp.Status)
	}
	var st node.ClusterStatus
	return &st, json.NewDecoder(resp.Body).Decode(&st)
}

// ViewSize is the number of members node n's view holds.
func (n *Node) ViewSize(ctx context.Context) (int, error) {
	st, err := n.Status(ctx)
	if err != nil {
		return 0, err
	}
	for _, m := range st.Members {
		if m.Self {
			return m.ViewSize, nil
		}
	}
	return 0, errors.New("clustertest: status without self")
}

// Kill sends SIGKILL and waits for the process to go.
func (n *Node) Kill() {
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// Stop sends SIGTERM (graceful close: passivate, leave memberlist) and waits up to 60 s.
func (n *Node) Stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(60 * time.Second):
		n.Kill()
	}
}

// Exited reports whether the process has ended.
func (n *Node) Exited() bool {
	select {
	case <-n.exited:
		return true
	default:
		return false
	}
}

// Log is the node's log so far.
func (n *Node) Log() string {
	b, _ := os.ReadFile(filepath.Join(n.Config.Dir, "node.log"))
	return string(b)
}

// WaitConverged waits until every running node's view has want members.
func (c *Cluster) WaitConverged(want int) {
	c.t.Helper()
	timeout := c.opts.ConvergeTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		var sizes []string
		ok := true
		for _, n := range c.Running() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			got, err := n.ViewSize(ctx)
			cancel()
			sizes = append(sizes, fmt.Sprintf("node %d: %d (%v)", n.Index, got, err))
			ok = ok && err == nil && got == want
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("clustertest: views did not converge to %d members within %v: %s", want, timeout, strings.Join(sizes, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Nodes returns every node started, running or not.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Node(nil), c.nodes...)
}

// Running returns the nodes whose process has not ended.
func (c *Cluster) Running() []*Node {
	var out []*Node
	for _, n := range c.Nodes() {
		if !n.Exited() {
			out = append(out, n)
		}
	}
	return out
}

// Close stops every node (gracefully, in parallel).
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for _, n := range c.Running() {
		wg.Add(1)
		go func() { defer wg.Done(); n.Stop() }()
	}
	wg.Wait()
	if c.t.Failed() {
		for _, n := range c.Nodes() {
			c.t.Logf("node %d log (tail):\n%s", n.Index, tail(filepath.Join(n.Config.Dir, "node.log")))
		}
	}
}

// URLs returns the running nodes' HTTP URLs.
func (c *Cluster) URLs() []string {
	var out []string
	for _, n := range c.Running() {
		out = append(out, n.URL)
	}
	return out
}
