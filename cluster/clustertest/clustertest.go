// Package clustertest starts clusters of real nodes inside one test process: each node has its
// own data folder, HTTP listener, memberlist (real UDP and TCP) and Proto.Actor remote (gRPC with
// mutual TLS) on random loopback ports, and all share one freshly generated cluster key. It is
// for tests only and must not be imported by non-test code.
package clustertest

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/node"
)

// Options shape a cluster. Zero values: capacity 1, no labels, a fresh key.
type Options struct {
	Capacities []uint32
	Labels     []awcluster.Labels
	// KeyFile overrides the generated cluster key.
	KeyFile string
	// Configure adjusts node i's configuration before it starts.
	Configure func(i int, cfg *node.Config)
	// ConvergeTimeout bounds the wait for every node to see every other (default 20 s).
	ConvergeTimeout time.Duration
}

// Cluster is a running test cluster.
type Cluster struct {
	t       testing.TB
	opts    Options
	KeyFile string
	mu      sync.Mutex
	Nodes   []*node.Node
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

// Start starts n nodes one after another (Proto.Actor remote must not start concurrently in one
// process: protoactor-notes.md §7.1), each joining the first, and waits until all see all.
func Start(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	c := &Cluster{t: t, opts: opts, KeyFile: opts.KeyFile}
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

// Config returns the configuration node i would start with (before Options.Configure).
func (c *Cluster) Config(i int) node.Config {
	cfg := node.DefaultConfig()
	cfg.DataDir = c.t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	// Every node compiles the module on its first spawn; under -race on a shared 2-core machine
	// that alone can take longer than the default request bound.
	cfg.API.RequestTimeout = time.Minute
	cfg.Cluster = node.ClusterConfig{Listen: "127.0.0.1:0", KeyFile: c.KeyFile, Capacity: 1, Resync: 200 * time.Millisecond}
	if i < len(c.opts.Capacities) {
		cfg.Cluster.Capacity = c.opts.Capacities[i]
	}
	if i < len(c.opts.Labels) {
		cfg.Cluster.Labels = c.opts.Labels[i]
	}
	c.mu.Lock()
	if len(c.Nodes) > 0 {
		cfg.Cluster.Join = []string{c.Nodes[0].ClusterProvider().GossipAddr()}
	}
	c.mu.Unlock()
	if c.opts.Configure != nil {
		c.opts.Configure(i, &cfg)
	}
	return cfg
}

// Add starts one more node joining the cluster (it does not wait for convergence).
func (c *Cluster) Add() (*node.Node, error) {
	c.mu.Lock()
	i := len(c.Nodes)
	c.mu.Unlock()
	return c.StartNode(c.Config(i))
}

// StartNode starts a node with cfg and adds it to the cluster's list.
func (c *Cluster) StartNode(cfg node.Config) (*node.Node, error) {
	n, err := node.Start(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.Nodes = append(c.Nodes, n)
	c.mu.Unlock()
	return n, nil
}

// WaitConverged waits until every running node's view has want members.
func (c *Cluster) WaitConverged(want int) {
	c.t.Helper()
	timeout := c.opts.ConvergeTimeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		ok := true
		for _, n := range c.Running() {
			if len(n.Members().View().Members) != want {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for i, n := range c.Running() {
				c.t.Logf("node %d view: %d members", i, len(n.Members().View().Members))
			}
			c.t.Fatalf("clustertest: views did not converge to %d members within %v", want, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Running returns the nodes not stopped.
func (c *Cluster) Running() []*node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*node.Node, 0, len(c.Nodes))
	for _, n := range c.Nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// Stop closes node i (gracefully: it leaves memberlist) and removes it from Running.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	n := c.Nodes[i]
	c.Nodes[i] = nil
	c.mu.Unlock()
	if n != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Close(ctx)
	}
}

// Close stops every node.
func (c *Cluster) Close() {
	for i := range c.Nodes {
		c.Stop(i)
	}
}

// URLs returns the running nodes' HTTP URLs.
func (c *Cluster) URLs() []string {
	var out []string
	for _, n := range c.Running() {
		out = append(out, n.URL())
	}
	return out
}
