package clustertest_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clustertest"
	"github.com/actorweave/actorweave/node"
)

// A node without the cluster key, or with another key, cannot join; the members' views stay as
// they were. And Proto.Actor remote refuses TLS clients without a certificate of the cluster CA.
func TestNodeWithoutKeyCannotJoin(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t, 2, clustertest.Options{})
	for _, tc := range []struct {
		name string
		key  func(cfg *node.ClusterConfig)
	}{
		{"no key", func(cc *node.ClusterConfig) { cc.KeyFile, cc.Insecure = "", true }},
		{"another key", func(cc *node.ClusterConfig) { cc.KeyFile = clustertest.NewKeyFile(t) }},
	} {
		cfg := c.Config(2)
		tc.key(&cfg.Cluster)
		cfg.Cluster.JoinTimeout = 2 * time.Second
		n, err := c.StartNode(cfg)
		if err == nil {
			t.Fatalf("%s: a node joined: %s", tc.name, n.URL)
		}
		if !strings.Contains(err.Error(), "could not join") {
			t.Fatalf("%s: unexpected error: %v", tc.name, err)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	time.Sleep(500 * time.Millisecond)
	for i, n := range c.Running() {
		if got, err := n.ViewSize(context.Background()); err != nil || got != 2 {
			t.Fatalf("node %d sees %d members after the refused joins (%v)", i, got, err)
		}
	}
	// The gRPC port speaks TLS 1.3 and wants a client certificate from the cluster CA.
	addr := c.Running()[0].Remote
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err == nil {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil {
		t.Fatal("a TLS client without a certificate was served")
	}
	t.Logf("certificate-less TLS client: %v", err)
	if cfgErr := func() error { cfg := c.Config(3); cfg.Cluster.KeyFile = ""; _, err := c.StartNode(cfg); return err }(); cfgErr == nil || !strings.Contains(cfgErr.Error(), cluster.ErrNoKey.Error()) {
		t.Fatalf("a cluster node without --cluster-key started: %v", cfgErr)
	}
}
