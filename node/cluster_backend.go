package node

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/persistence"
)

// The reads of a process's data go to its owner, which holds its log and results; a node serves
// them from its own store only when it owns the process under its current view (on a single node:
// always). Items are served from this node, else from any member that holds them.

func (b *backend) Process(ctx context.Context, pid ans104.ID) (*api.ProcessRecord, error) {
	if m, ok, err := b.remoteOwner(ctx, pid); err != nil {
		return nil, err
	} else if ok {
		var w wireProcess
		if err := b.readRemote(ctx, m, pid, "Process", readArgs{}, &w); err != nil {
			return nil, classify(err)
		}
		item, err := ans104.Parse(w.Item, ans104.Limits{})
		if err != nil {
			return nil, err
		}
		return &api.ProcessRecord{Item: item, Timestamp: w.Timestamp, BlockHeight: w.BlockHeight}, nil
	}
	return b.localProcess(pid)
}

func (b *backend) LogEntry(ctx context.Context, pid, id ans104.ID) (*api.LogEntry, error) {
	if m, ok, err := b.remoteOwner(ctx, pid); err != nil {
		return nil, err
	} else if ok {
		var w wireEntry
		if err := b.readRemote(ctx, m, pid, "LogEntry", readArgs{ID: id[:]}, &w); err != nil {
			return nil, classify(err)
		}
		return fromWireEntry(w)
	}
	return b.localLogEntry(pid, id)
}

func (b *backend) Latest(ctx context.Context, pid ans104.ID) (*api.LogEntry, error) {
	if m, ok, err := b.remoteOwner(ctx, pid); err != nil {
		return nil, err
	} else if ok {
		var w wireEntry
		if err := b.readRemote(ctx, m, pid, "Latest", readArgs{}, &w); err != nil {
			return nil, classify(err)
		}
		return fromWireEntry(w)
	}
	return b.localLatest(pid)
}

func (b *backend) Log(ctx context.Context, pid ans104.ID, q api.LogQuery) (*api.LogPage, error) {
	if m, ok, err := b.remoteOwner(ctx, pid); err != nil {
		return nil, err
	} else if ok {
		var w wireLogPage
		if err := b.readRemote(ctx, m, pid, "Log", readArgs{Log: &q}, &w); err != nil {
			return nil, classify(err)
		}
		out := &api.LogPage{HasMore: w.HasMore}
		for _, we := range w.Entries {
			e, err := fromWireEntry(we)
			if err != nil {
				return nil, err
			}
			out.Entries = append(out.Entries, *e)
		}
		return out, nil
	}
	return b.localLog(pid, q)
}

func (b *backend) Results(ctx context.Context, pid ans104.ID, q api.ResultsQuery) (*api.ResultsPage, error) {
	if m, ok, err := b.remoteOwner(ctx, pid); err != nil {
		return nil, err
	} else if ok {
		var out api.ResultsPage
		if err := b.readRemote(ctx, m, pid, "Results", readArgs{Results: &readResultsArgs{From: q.From, To: q.To, Desc: q.Desc, Limit: q.Limit}}, &out); err != nil {
			return nil, classify(err)
		}
		for i := range out.Results {
			unNull(&out.Results[i])
		}
		return &out, nil
	}
	return b.localResults(pid, q)
}

// Cron pages the results of cron ticks (GET /cron), read on the process's owner.
func (b *backend) Cron(ctx context.Context, pid ans104.ID, q api.ResultsQuery) (*api.ResultsPage, error) {
	if m, ok, err := b.remoteOwner(ctx, pid); err != nil {
		return nil, err
	} else if ok {
		var out api.ResultsPage
		if err := b.readRemote(ctx, m, pid, "Cron", readArgs{Results: &readResultsArgs{From: q.From, To: q.To, Desc: q.Desc, Limit: q.Limit}}, &out); err != nil {
			return nil, classify(err)
		}
		for i := range out.Results {
			unNull(&out.Results[i])
		}
		return &out, nil
	}
	return b.localCron(ctx, pid, q)
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
	if m, ok, err := b.remoteOwner(ctx, pid); err != nil {
		return nil, err
	} else if ok {
		var out api.Result
		if err := b.readRemote(ctx, m, pid, "Result", readArgs{ID: id[:]}, &out); err != nil {
			return nil, classify(err)
		}
		unNull(&out)
		return &out, nil
	}
	return b.localResult(ctx, pid, id)
}

// unNull undoes JSON's round trip of absent raw fields (nil → null → "null"): the api tells a
// successful evaluation by a nil Error.
func unNull(r *api.Result) {
	for _, f := range []*json.RawMessage{&r.Output, &r.Error} {
		if string(*f) == "null" {
			*f = nil
		}
	}
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
