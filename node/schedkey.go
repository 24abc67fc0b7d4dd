package node

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/crypto/hkdf"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/persistence"
)

// The scheduler identity (docs/scheduler-identity.md). Every member of a cluster signs
// assignments, ticks, pushed items, log batches and checkpoints with one key, so that a process's
// whole log is signed by the Scheduler its Process item names whichever member owns it. The node
// key stays each member's own identity (its member name).

// Where the scheduler key came from, for the start log line.
const (
	schedFromFile    = "--scheduler-key"
	schedFromCluster = "derived from --cluster-key"
	schedFromNode    = "the node key"
)

// loadSchedulerKey picks the scheduler key: the file given; else, in a cluster with a key, one
// derived from the cluster key (every member holds it, so every member derives the same one);
// else the node key (a single node, as before).
func loadSchedulerKey(cfg Config, nodeKey ans104.Signer) (ans104.Signer, string, error) {
	switch {
	case cfg.SchedulerKeyFile != "":
		s, err := ans104.LoadKeyFile(cfg.SchedulerKeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("--scheduler-key: %w", err)
		}
		return s, schedFromFile, nil
	case cfg.Cluster.Enabled() && cfg.Cluster.KeyFile != "":
		key, err := os.ReadFile(cfg.Cluster.KeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("cluster key: %w", err)
		}
		return DeriveSchedulerKey(key), schedFromCluster, nil
	}
	return nodeKey, schedFromNode, nil
}

// DeriveSchedulerKey is the ed25519 scheduler key a cluster without --scheduler-key signs with:
// HKDF-SHA256 over the cluster key material, with its own label so that it shares nothing usable
// with the gossip key or the CA derived from the same material.
func DeriveSchedulerKey(clusterKey []byte) ans104.Signer {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, clusterKey, []byte("actorweave cluster key v1"), []byte("scheduler key")), seed); err != nil {
		panic(err) // HKDF-SHA256 yields far more than 32 bytes
	}
	return ans104.NewEd25519Signer(ed25519.NewKeyFromSeed(seed))
}

// delegateToScheduler records, when this node's own key differs from the scheduler key, a
// Scheduler-Delegation signed by the node key naming the scheduler key, and queues it for Arweave.
// Processes this node served under its own key (as a single node, or as a member before one
// scheduler identity) keep naming it as Scheduler; their new assignments are signed by the
// scheduler key, and recovery accepts them because of this item. The item is deterministic
// (ed25519 signs deterministically; an RSA node key makes a new one per start, all equivalent), and
// the store keeps an item once.
func (n *Node) delegateToScheduler(ctx context.Context) error {
	own, sched := addressOf(n.signer), addressOf(n.sched)
	if own == sched {
		return nil
	}
	d, err := arweave.Delegation(own, sched)
	if err != nil {
		return err
	}
	if err := d.Sign(n.signer); err != nil {
		return fmt.Errorf("signing the scheduler delegation: %w", err)
	}
	return n.storeDelegation(ctx, d)
}

// loadDelegations stores the delegation items given with --scheduler-delegation (made with
// `actorweave delegate` by the holder of an older Scheduler key), after checking them.
func (n *Node) loadDelegations(ctx context.Context, files []string) error {
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("--scheduler-delegation: %w", err)
		}
		d, err := ans104.Parse(raw, ans104.Limits{})
		if err == nil {
			err = d.Verify()
		}
		if err == nil {
			_, _, err = arweave.Delegates(d)
		}
		if err != nil {
			return fmt.Errorf("--scheduler-delegation %s: %w", f, err)
		}
		if err := n.storeDelegation(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) storeDelegation(ctx context.Context, d *ans104.DataItem) error {
	tags := make([]persistence.Tag, len(d.Tags))
	for i, t := range d.Tags {
		tags[i] = persistence.Tag{Name: t.Name, Value: t.Value}
	}
	return n.store.PutItem(ctx, persistence.Item{ID: d.ID(), Raw: d.Bytes(), Owner: d.OwnerAddress(), Tags: tags,
		Timestamp: time.Now().UnixMilli(), BlockHeight: n.height.Load()})
}

func addressOf(s ans104.Signer) string { return ans104.Address(s.SignatureType(), s.Owner()) }
