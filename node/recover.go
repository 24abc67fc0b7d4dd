package node

import (
	"context"
	"errors"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	"github.com/actorweave/actorweave/arweave"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/recovery"
	"github.com/actorweave/actorweave/recovery/ondemand"
)

// RecoveryConfig: recovery of processes from the gateway. A node with a gateway that is asked
// about a process it does not hold rebuilds it from Arweave first, once for all concurrent askers,
// then answers (ondemand.Recoverer).
type RecoveryConfig struct {
	// Gateway is read from; empty: the flush gateway (--gateway), and no recovery without one.
	Gateway string
	// Disabled turns recovery off even with a gateway (--recover-from-gateway=false).
	Disabled bool
	// Timeout bounds one recovery.
	Timeout time.Duration
	// AbsentTTL: a process the gateway does not have is not asked for again for this long, so
	// requests for unknown ids do not each cost a gateway query.
	AbsentTTL time.Duration
	// MaxDataBytes bounds one download from the gateway (a log batch, a module, a checkpoint).
	MaxDataBytes int
	Retry        arweave.Retry
}

// DefaultRecoveryConfig: 10 min per recovery, absent ids remembered 10 s, 256 MiB per download,
// arweave.DefaultRetry.
func DefaultRecoveryConfig() RecoveryConfig {
	return RecoveryConfig{Timeout: 10 * time.Minute, AbsentTTL: 10 * time.Second, MaxDataBytes: 256 << 20, Retry: arweave.DefaultRetry}
}

func (c RecoveryConfig) withDefaults() RecoveryConfig {
	d := DefaultRecoveryConfig()
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.AbsentTTL <= 0 {
		c.AbsentTTL = d.AbsentTTL
	}
	if c.MaxDataBytes <= 0 {
		c.MaxDataBytes = d.MaxDataBytes
	}
	if c.Retry.Attempts <= 0 {
		c.Retry = d.Retry
	}
	return c
}

// newRecoverer is recovery's Recoverer over this node's store, gateway and cluster, with its errors
// in the API's status classes.
func newRecoverer(n *Node, cfg RecoveryConfig) *ondemand.Recoverer {
	cfg = cfg.withDefaults()
	rc := ondemand.RecovererConfig{Source: recovery.Gateway(arweave.NewGateway(cfg.Gateway), cfg.Retry, cfg.MaxDataBytes),
		Store: n.store, Gateway: cfg.Gateway, Timeout: cfg.Timeout, AbsentTTL: cfg.AbsentTTL, Scheduler: n.host.Address(),
		Logger: n.log, Forwarder: n.host.Forwarder(), Errors: classifyRecovery}
	if n.provider != nil {
		rc.Owner = func(ctx context.Context, pid ans104.ID) (awcluster.Member, bool) {
			m, v, err := n.host.Owner(ctx, pid)
			return m, err == nil && !v.IsSelf(m)
		}
	}
	return ondemand.NewRecoverer(rc)
}

// classifyRecovery: a failed recovery is a 503 with the reason; the rest as every error.
func classifyRecovery(err error) error {
	if errors.Is(err, ondemand.ErrRecoveryFailed) {
		return &classified{err: err, kind: api.ErrUnavailable}
	}
	return classify(err)
}

// apiBackend is the node's api.Backend. With a gateway (cfg.Gateway, else the flush gateway) every
// operation that names a process recovers it first when the cluster does not hold it: the host
// runs the recoverer before each operation declared with recover (actors/op.go).
func (n *Node) apiBackend(b *backend, cfg RecoveryConfig, flushGateway string) api.Backend {
	if cfg.Gateway == "" {
		cfg.Gateway = flushGateway
	}
	if cfg.Disabled || cfg.Gateway == "" {
		ondemand.ServeOwner(n.host.Forwarder(), nil)
		return b
	}
	r := newRecoverer(n, cfg)
	n.recoverer = r
	ondemand.ServeOwner(n.host.Forwarder(), r)
	n.host.SetRecover(r.Ensure)
	return b
}
