package node

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/persistence"
)

// LocationConfig is the node's Scheduler-Location record: the item AO's own tools
// (@permaweb/ao-scheduler-utils locate(), used by aoconnect and the reference CU) read from a
// gateway's GraphQL to find the URL of the scheduler a process names. The node signs it with its
// scheduler key and publishes it as a standalone item: its own GraphQL (and every member's) serves
// it at once, and the Arweave flush uploads it to the configured gateway or bundler.
type LocationConfig struct {
	// URL is where clients reach this node (--public-url); empty: http://<listen address>.
	URL string
	// TTL is the record's Time-To-Live: how long a client may cache the location.
	TTL time.Duration
	// Disabled publishes no record (--no-scheduler-location).
	Disabled bool
}

// DefaultLocationTTL is one day: a node's URL rarely changes, and a restart with a new URL
// publishes a new record, which locate() prefers (the newest wins).
const DefaultLocationTTL = 24 * time.Hour

// publishLocation publishes the record unless the newest one this key signed already says the
// same. A failure is logged, not fatal: the node works without being findable.
func (n *Node) publishLocation(ctx context.Context, be *backend) {
	cfg := n.cfg.Location
	if cfg.Disabled {
		return
	}
	url, ttl := cfg.URL, cfg.TTL
	if url == "" {
		url = n.URL()
	}
	if ttl <= 0 {
		ttl = DefaultLocationTTL
	}
	ttlText := strconv.FormatInt(ttl.Milliseconds(), 10)
	addr := n.host.Address()
	if cur, ok := n.currentLocation(addr); ok && cur.Tags.Value("Url") == url && cur.Tags.Value("Time-To-Live") == ttlText {
		return
	}
	item, err := schedulerLocation(n.sched, url, ttlText)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		err = be.Publish(ctx, item)
	}
	if err != nil {
		n.log.Warn("Scheduler-Location record not published", "url", url, "err", err)
		return
	}
	n.log.Info("Scheduler-Location record published", "id", item.ID().String(), "url", url, "ttl_ms", ttlText, "scheduler", addr)
}

// schedulerLocation builds the record as the reference scheduler publishes it.
func schedulerLocation(s ans104.Signer, url, ttlMs string) (*ans104.DataItem, error) {
	anchor := make([]byte, 32)
	if _, err := rand.Read(anchor); err != nil {
		return nil, err
	}
	item := ans104.NewItem([]byte("1984"), nil, anchor, []ans104.Tag{
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Scheduler-Location"},
		{Name: "Url", Value: url}, {Name: "Time-To-Live", Value: ttlMs},
	})
	if err := item.Sign(s); err != nil {
		return nil, fmt.Errorf("sign Scheduler-Location: %w", err)
	}
	return item, nil
}

// currentLocation is the newest Scheduler-Location record addr signed that this node holds.
func (n *Node) currentLocation(addr string) (*ans104.DataItem, bool) {
	refs, _, err := n.store.QueryItems(persistence.ItemQuery{Owners: []string{addr}, First: 1, Desc: true,
		Tags: []persistence.TagFilter{{Name: "Type", Values: []string{"Scheduler-Location"}}}})
	if err != nil || len(refs) == 0 {
		return nil, false
	}
	it, err := n.store.GetItem(refs[0].ID)
	if err != nil {
		return nil, false
	}
	item, err := ans104.Parse(it.Raw, ans104.Limits{})
	return item, err == nil
}
