package node

import (
	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/runtime"
	"github.com/actorweave/actorweave/weavedrive"
)

// startWeaveDrive opens the node's WeaveDrive over its store (weavedrive/): processes read
// through the configured gateway (--weavedrive-gateway, else the recovery gateway, else
// --gateway) and the cache. Without a gateway, or with --weavedrive=false, processes get no drive.
func (n *Node) startWeaveDrive(cfg Config) (func(ans104.ID, *ans104.DataItem, *ans104.DataItem) (runtime.Drive, int64), error) {
	wc := cfg.WeaveDrive
	if wc.Gateway == "" {
		wc.Gateway = cfg.Recovery.Gateway
	}
	if wc.Gateway == "" {
		wc.Gateway = cfg.Flush.Gateway
	}
	if wc.Disabled || wc.Gateway == "" {
		n.log.Info("weavedrive off: processes' /data, /tx and /block reads answer no file", "disabled", wc.Disabled)
		return nil, nil
	}
	d, err := weavedrive.New(wc, n.store)
	if err != nil {
		return nil, err
	}
	c := d.Config()
	n.log.Info("weavedrive on", "gateway", c.Gateway, "cache_bytes", c.CacheBytes, "cached_bytes", d.CachedBytes(),
		"read_budget", c.ReadBudget, "timeout", c.Timeout)
	return func(pid ans104.ID, process, module *ans104.DataItem) (runtime.Drive, int64) {
		return d.For(pid, process.Tags, module.Tags), d.ReadBudget()
	}, nil
}
