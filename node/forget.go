package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
)

// ClusterForget is POST /cluster/forget (cluster.BroadcastForget), with its errors in the API's
// status classes.
func (b *backend) ClusterForget(ctx context.Context, req api.ForgetRequest) (any, error) {
	n := b.n
	if n.provider == nil || n.quorum == nil {
		return nil, &classified{err: fmt.Errorf("this node keeps no quorum (a single node, or replication factor 1)"), kind: api.ErrNotImplemented}
	}
	if key := n.provider.AdminKey(); key != nil {
		if err := awcluster.VerifyAdmin(key, "forget", time.UnixMilli(req.Time), req.Names, req.MAC, time.Now()); err != nil {
			return nil, &classified{err: err, kind: api.ErrForbidden}
		}
	}
	if err := awcluster.CheckForgettable(n.host.Members().View(), req.Names); err != nil {
		if errors.Is(err, awcluster.ErrForgetAlive) {
			return nil, &classified{err: err, kind: api.ErrConflict}
		}
		return nil, err
	}
	return n.broadcastForget(ctx, req.Names), nil
}

// broadcastForget is cluster.BroadcastForget over this node's view, logged.
func (n *Node) broadcastForget(ctx context.Context, names []string) *awcluster.ForgetResult {
	out := awcluster.BroadcastForget(ctx, n.host.Members().View(), n.host.Forwarder(), n.quorum, names)
	n.log.Info("forgot cluster members", "names", names, "result", out.Members)
	return out
}
