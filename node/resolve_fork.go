package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clusterpb"
	"github.com/actorweave/actorweave/persistence"
)

// opResolveFork hands an operator's resolve-fork to the process's owner, where the fork is recorded.
const opResolveFork = "node.resolve-fork"

// ForkResolution is what POST /cluster/resolve-fork answers.
type ForkResolution struct {
	Process    string `json:"process"`
	Nonce      uint64 `json:"nonce"` // where the two histories parted
	Kept       string `json:"kept"`
	Lost       string `json:"lost"`
	Archived   uint64 `json:"archived"`   // entries of the lost history archived on the losing node
	RolledBack uint64 `json:"rolledBack"` // of those, evaluated ones whose evaluation was rolled back
	// Rescheduled are the lost history's messages the kept log lacked, scheduled again.
	Rescheduled []Rescheduled `json:"rescheduled"`
}

// Rescheduled is one lost message scheduled again: its new nonce, or why it was not.
type Rescheduled struct {
	Message  string `json:"message"`
	OldNonce uint64 `json:"oldNonce"`
	Nonce    uint64 `json:"nonce"`
	Error    string `json:"error,omitempty"`
}

// adminOnce remembers the MACs of admin requests already executed, for as long as their time is
// accepted: a request captured on the wire cannot be replayed within its freshness window.
type adminOnce struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (a *adminOnce) use(mac string, at, now time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = map[string]time.Time{}
	}
	for m, t := range a.seen {
		if now.Sub(t) > 2*awcluster.AdminSkew {
			delete(a.seen, m)
		}
	}
	if _, ok := a.seen[mac]; ok {
		return fmt.Errorf("%w: this signed request was already used (sign a new one)", awcluster.ErrAdminAuth)
	}
	a.seen[mac] = at
	return nil
}

var resolveOnce adminOnce

// ClusterResolveFork is POST /cluster/resolve-fork: an operator keeps one replica's history of a
// forked process. Any member takes the request; the owner, which recorded the fork, resolves it.
func (b *backend) ClusterResolveFork(ctx context.Context, req api.ResolveForkRequest) (any, error) {
	n := b.n
	if n.repl == nil {
		return nil, &classified{err: errors.New("this node does not replicate: there is no second history to choose from"), kind: api.ErrNotImplemented}
	}
	pid, err := ans104.ParseID(req.Process)
	if err != nil {
		return nil, &classified{err: fmt.Errorf("process: %w", err), kind: api.ErrBadRequest}
	}
	owner, v, err := n.host.Owner(ctx, pid)
	if err != nil {
		return nil, classify(err)
	}
	// The owner checks the operator's signature, freshness and single use (resolveForkOp): it
	// trusts the operator, not the member that forwarded the request.
	op := b.resolveForkOp()
	in := &clusterpb.ResolveForkRequest{Process: req.Process, Keep: req.Keep, Time: req.Time, Mac: req.MAC}
	var r *clusterpb.ForkResolution
	if v.IsSelf(owner) {
		r, err = op.Serve(ctx, in)
	} else if r, err = op.Call(ctx, n.host.Forwarder(), owner, in); err != nil {
		err = fmt.Errorf("resolve-fork on the owner %s: %w", owner.Name, err)
	}
	if err != nil {
		return nil, classifyResolve(err)
	}
	out := &ForkResolution{Process: r.Process, Nonce: r.Nonce, Kept: r.Kept, Lost: r.Lost, Archived: r.Archived, RolledBack: r.RolledBack,
		Rescheduled: make([]Rescheduled, len(r.Rescheduled))}
	for i, m := range r.Rescheduled {
		out.Rescheduled[i] = Rescheduled{Message: m.Message, OldNonce: m.OldNonce, Nonce: m.Nonce, Error: m.Error}
	}
	return out, nil
}

// verifyResolve checks an operator's signature, freshness and single use.
func (n *Node) verifyResolve(req api.ResolveForkRequest) error {
	if n.provider == nil {
		return &classified{err: errors.New("this node has no cluster membership to authenticate an operator with"), kind: api.ErrNotImplemented}
	}
	key := n.provider.AdminKey()
	if key == nil {
		return nil // a cluster without a key (tests that say so): admin requests are not authenticated
	}
	at, now := time.UnixMilli(req.Time), time.Now()
	if err := awcluster.VerifyAdmin(key, "resolve-fork", at, []string{req.Process, req.Keep}, req.MAC, now); err != nil {
		return &classified{err: err, kind: api.ErrForbidden}
	}
	if err := resolveOnce.use(req.MAC, at, now); err != nil {
		return &classified{err: err, kind: api.ErrForbidden}
	}
	return nil
}

func classifyResolve(err error) error {
	switch {
	case errors.Is(err, awcluster.ErrAdminAuth):
		return &classified{err: err, kind: api.ErrForbidden}
	case errors.Is(err, persistence.ErrNotFound):
		return &classified{err: err, kind: api.ErrNotFound}
	case errors.Is(err, persistence.ErrInvalid):
		return &classified{err: err, kind: api.ErrBadRequest}
	}
	return classify(err)
}

// resolveForkOp is the owner's side of a resolve-fork: it checks the operator's signature,
// freshness and single use, and settles the fork.
func (b *backend) resolveForkOp() *awcluster.Op[*clusterpb.ResolveForkRequest, *clusterpb.ForkResolution] {
	return &awcluster.Op[*clusterpb.ResolveForkRequest, *clusterpb.ForkResolution]{Name: opResolveFork,
		Serve: func(ctx context.Context, in *clusterpb.ResolveForkRequest) (*clusterpb.ForkResolution, error) {
			req := api.ResolveForkRequest{Process: in.Process, Keep: in.Keep, Time: in.Time, MAC: in.Mac}
			if err := b.n.verifyResolve(req); err != nil {
				return nil, err
			}
			pid, err := ans104.ParseID(req.Process)
			if err != nil {
				return nil, err
			}
			out, err := b.n.resolveFork(ctx, pid, req.Keep)
			if err != nil {
				return nil, err
			}
			w := &clusterpb.ForkResolution{Process: out.Process, Nonce: out.Nonce, Kept: out.Kept, Lost: out.Lost, Archived: out.Archived,
				RolledBack: out.RolledBack, Rescheduled: make([]*clusterpb.RescheduledMessage, len(out.Rescheduled))}
			for i, m := range out.Rescheduled {
				w.Rescheduled[i] = &clusterpb.RescheduledMessage{Message: m.Message, OldNonce: m.OldNonce, Nonce: m.Nonce, Error: m.Error}
			}
			return w, nil
		}}
}

// resolveFork settles the fork here (replication.ResolveFork), then schedules the lost history's
// messages again through the ordinary submit path: they are their senders' signed items, so they
// get new nonces and assignments like any message.
func (n *Node) resolveFork(ctx context.Context, pid ans104.ID, keep string) (*ForkResolution, error) {
	res, err := n.repl.ResolveFork(ctx, persistence.ID(pid), keep)
	if err != nil {
		return nil, err
	}
	out := &ForkResolution{Process: pid.String(), Nonce: res.Nonce, Kept: res.Kept, Lost: res.Lost,
		Archived: res.Archived, RolledBack: res.RolledBack, Rescheduled: []Rescheduled{}}
	for _, e := range res.Unscheduled {
		out.Rescheduled = append(out.Rescheduled, n.reschedule(ctx, pid, e))
	}
	n.log.Warn("resolved a forked process", "process", pid, "nonce", res.Nonce, "kept", res.Kept, "lost", res.Lost,
		"archived", res.Archived, "rolledBack", res.RolledBack, "rescheduled", len(out.Rescheduled))
	return out, nil
}

// reschedule submits a lost entry's message again: the item itself when the entry carries it, an
// assignment of the message when it is held elsewhere (the assign flow).
func (n *Node) reschedule(ctx context.Context, pid ans104.ID, e persistence.Entry) Rescheduled {
	r := Rescheduled{Message: ans104.ID(e.MessageID).String(), OldNonce: e.Nonce}
	var err error
	var nonce uint64
	if len(e.Message) > 0 {
		item, perr := ans104.ParseAndVerify(e.Message, ans104.Limits{})
		if perr != nil {
			r.Error = fmt.Sprintf("stored message does not verify: %v", perr)
			return r
		}
		ack, serr := n.host.Submit(ctx, item)
		nonce, err = ack.Nonce, serr
	} else {
		ack, aerr := n.host.Assign(ctx, pid, ans104.ID(e.MessageID), nil)
		nonce, err = ack.Nonce, aerr
	}
	if errors.Is(err, persistence.ErrMessageExists) {
		r.Error = "already in the kept log"
		return r
	}
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Nonce = nonce
	return r
}

// memberName is the view's name of the member at a Proto.Actor address ("" if none).
func (n *Node) memberName(addr string) string {
	for _, m := range n.host.Members().View().Members {
		if m.Address == addr {
			return m.Name
		}
	}
	return ""
}
