package node

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clusterpb"
)

// opForget asks a member to drop names from its known members (the quorum's denominator).
const opForget = "node.forget"

// ForgetResult is what POST /cluster/forget answers: per member of the view, the names it dropped,
// or why it could not be asked.
type ForgetResult struct {
	Members map[string]ForgetOutcome `json:"members"`
}

// ForgetOutcome is one member's part of a ForgetResult.
type ForgetOutcome struct {
	Forgotten []string `json:"forgotten"`
	Error     string   `json:"error,omitempty"`
}

// ClusterForget is POST /cluster/forget: an operator removes members that will not come back, so
// the survivors regain a quorum. Members still in this node's view are refused (stop them first,
// or they would count again at their next view).
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
	v := n.host.Members().View()
	for _, name := range req.Names {
		for _, m := range v.Members {
			if m.Name == name {
				return nil, &classified{err: fmt.Errorf("member %s is alive in this node's view: stop it before forgetting it", name), kind: api.ErrConflict}
			}
		}
	}
	return n.broadcastForget(ctx, req.Names), nil
}

// broadcastForget drops names from the known members of this node and of every member in its view.
func (n *Node) broadcastForget(ctx context.Context, names []string) *ForgetResult {
	v := n.host.Members().View()
	out := &ForgetResult{Members: map[string]ForgetOutcome{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	args, _ := json.Marshal(names)
	for _, m := range v.Members {
		wg.Add(1)
		go func(m awcluster.Member) {
			defer wg.Done()
			var o ForgetOutcome
			var gone []string
			var err error
			if v.IsSelf(m) {
				gone, err = n.quorum.Forget(names...)
			} else {
				var r clusterpb.ReadRequest
				if err = n.host.Forwarder().Call(ctx, m, opForget, &clusterpb.ReadRequest{Args: args}, &r); err == nil {
					err = json.Unmarshal(r.Args, &gone)
				}
			}
			o.Forgotten = gone
			if o.Forgotten == nil {
				o.Forgotten = []string{}
			}
			if err != nil {
				o.Error = err.Error()
			}
			mu.Lock()
			out.Members[m.Name] = o
			mu.Unlock()
		}(m)
	}
	wg.Wait()
	n.log.Info("forgot cluster members", "names", names, "result", out.Members)
	return out
}

func (n *Node) serveForget(ctx context.Context, body []byte) (proto.Message, error) {
	var req clusterpb.ReadRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal(req.Args, &names); err != nil {
		return nil, err
	}
	if n.quorum == nil {
		return nil, fmt.Errorf("this node keeps no quorum")
	}
	gone, err := n.quorum.Forget(names...)
	if err != nil {
		return nil, err
	}
	js, err := json.Marshal(gone)
	return &clusterpb.ReadRequest{Args: js}, err
}
