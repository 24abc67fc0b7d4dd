package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/actorweave/actorweave/actors"
	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/persistence"
)

// The reads of a process's data run on its owner (actors/reads.go), which holds its log and
// results and proves its copy current first; this side only translates them into the API's
// records. Items are served from this node, else from any member that holds them.

func (b *backend) Process(ctx context.Context, pid ans104.ID) (*api.ProcessRecord, error) {
	r, err := b.n.host.Process(ctx, pid)
	if err != nil {
		return nil, classify(err)
	}
	item, err := ans104.Parse(r.Item, ans104.Limits{})
	if err != nil {
		return nil, fmt.Errorf("stored process %s: %w", pid, err)
	}
	return &api.ProcessRecord{Item: item, Timestamp: r.Timestamp, BlockHeight: r.BlockHeight}, nil
}

func (b *backend) LogEntry(ctx context.Context, pid, id ans104.ID) (*api.LogEntry, error) {
	e, err := b.n.host.LogEntry(ctx, pid, id)
	if err != nil {
		return nil, classify(err)
	}
	return apiEntry(e)
}

func (b *backend) Latest(ctx context.Context, pid ans104.ID) (*api.LogEntry, error) {
	e, err := b.n.host.Latest(ctx, pid)
	if err != nil {
		return nil, classify(err)
	}
	return apiEntry(e)
}

func (b *backend) Log(ctx context.Context, pid ans104.ID, q api.LogQuery) (*api.LogPage, error) {
	aq := actors.LogQuery{From: q.From, To: q.To, Limit: q.Limit}
	if q.ByNonce() {
		aq.ByNonce, aq.From, aq.To = true, q.FromNonce, q.ToNonce
	}
	p, err := b.n.host.Log(ctx, pid, aq)
	if err != nil {
		return nil, classify(err)
	}
	out := &api.LogPage{HasMore: p.HasMore, Entries: make([]api.LogEntry, 0, len(p.Entries))}
	for i := range p.Entries {
		e, err := apiEntry(&p.Entries[i])
		if err != nil {
			return nil, err
		}
		out.Entries = append(out.Entries, *e)
	}
	return out, nil
}

func (b *backend) Results(ctx context.Context, pid ans104.ID, q api.ResultsQuery) (*api.ResultsPage, error) {
	return b.results(ctx, pid, q, false)
}

// Cron pages the results of cron ticks (GET /cron).
func (b *backend) Cron(ctx context.Context, pid ans104.ID, q api.ResultsQuery) (*api.ResultsPage, error) {
	return b.results(ctx, pid, q, true)
}

func (b *backend) results(ctx context.Context, pid ans104.ID, q api.ResultsQuery, cronOnly bool) (*api.ResultsPage, error) {
	aq := actors.ResultsQuery{Desc: q.Desc, Limit: q.Limit, CronOnly: cronOnly}
	if q.From != nil {
		aq.From = &q.From.Timestamp
	}
	if q.To != nil {
		aq.To = &q.To.Timestamp
	}
	p, err := b.n.host.Results(ctx, pid, aq)
	if err != nil {
		return nil, classify(err)
	}
	out := &api.ResultsPage{HasMore: p.HasMore, Results: make([]api.Result, len(p.Results))}
	for i, r := range p.Results {
		out.Results[i] = *toAPIResult(r)
	}
	return out, nil
}

func (b *backend) Item(ctx context.Context, id ans104.ID) (*api.StoredItem, error) {
	it, err := b.localItem(id)
	if !errors.Is(err, api.ErrNotFound) || b.n.provider == nil {
		return it, err
	}
	raw, ferr := b.n.fetchItem(ctx, id)
	if ferr != nil {
		if errors.Is(ferr, api.ErrNotFound) || errors.Is(ferr, persistence.ErrNotFound) {
			return nil, err
		}
		return nil, classify(ferr)
	}
	item, perr := ans104.Parse(raw, ans104.Limits{})
	if perr != nil {
		return nil, perr
	}
	return &api.StoredItem{Item: item}, nil
}

func (b *backend) Result(ctx context.Context, pid, id ans104.ID) (*api.Result, error) {
	r, err := b.n.host.ResultOf(ctx, pid, id)
	if err != nil {
		return nil, classify(err)
	}
	return toAPIResult(r), nil
}

// apiEntry parses a log entry's raw items into the API's.
func apiEntry(e *actors.LogEntry) (*api.LogEntry, error) {
	asg, err := ans104.Parse(e.Assignment, ans104.Limits{})
	if err != nil {
		return nil, fmt.Errorf("stored assignment %d: %w", e.Nonce, err)
	}
	out := &api.LogEntry{Nonce: e.Nonce, Timestamp: e.Timestamp, Assignment: asg}
	if len(e.Message) > 0 {
		if out.Message, err = ans104.Parse(e.Message, ans104.Limits{}); err != nil {
			return nil, fmt.Errorf("stored message %d: %w", e.Nonce, err)
		}
	}
	return out, nil
}

// ClusterStatus is GET /cluster/status: every member's line (a single node shows itself).
func (b *backend) ClusterStatus(ctx context.Context, auth *api.AdminAuth) (any, error) {
	st, err := b.n.Status(ctx)
	if err != nil {
		return nil, err
	}
	var key []byte
	if b.n.provider != nil {
		key = b.n.provider.AdminKey()
	}
	if auth != nil && key != nil {
		if err := awcluster.VerifyAdmin(key, "status", time.UnixMilli(auth.Time), nil, auth.MAC, time.Now()); err != nil {
			return nil, &classified{err: err, kind: api.ErrForbidden}
		}
		return st, nil
	}
	if key == nil {
		return st, nil // no cluster key configured: nothing to prove, nothing hidden
	}
	// Anonymous: where the members listen (gossip, gRPC) is for operators only.
	st.Node = ""
	for i := range st.Members {
		st.Members[i].Address, st.Members[i].Gossip, st.Members[i].ID = "", "", ""
	}
	return st, nil
}
