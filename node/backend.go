package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/actorweave/actorweave/actors"
	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/cron"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/runtime"
)

// backend implements api.Backend over the node's packages.
type backend struct{ n *Node }

var _ api.Backend = (*backend)(nil)

// classified keeps an error's own message and chain and adds the API's status class.
type classified struct {
	err  error
	kind error
}

func (c *classified) Error() string   { return c.err.Error() }
func (c *classified) Unwrap() []error { return []error{c.err, c.kind} }

// classify maps the packages' errors to the API's status classes.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case errors.Is(err, replication.ErrForked):
		kind = api.ErrUnavailable // two histories: refused until an operator runs resolve-fork
	case errors.Is(err, persistence.ErrNotFound), errors.Is(err, actors.ErrProcessNotFound):
		kind = api.ErrNotFound
	case errors.Is(err, persistence.ErrMessageExists), errors.Is(err, persistence.ErrProcessExists),
		errors.Is(err, actors.ErrProcessExists), errors.Is(err, persistence.ErrAssignmentExists):
		kind = api.ErrConflict
	case errors.Is(err, actors.ErrModuleNotFound), errors.Is(err, runtime.ErrFormat):
		kind = api.ErrUnsupported
	case errors.Is(err, actors.ErrWrongProcess), errors.Is(err, persistence.ErrInvalid):
		kind = api.ErrBadRequest
	case errors.Is(err, persistence.ErrLimit):
		kind = api.ErrTooLarge
	case errors.Is(err, context.DeadlineExceeded):
		kind = api.ErrTimeout
	case errors.Is(err, actors.ErrBusy), errors.Is(err, actors.ErrNoPlacement), errors.Is(err, actors.ErrNotCurrent):
		kind = api.ErrUnavailable
	case errors.Is(err, actors.ErrDryRunFull):
		kind = api.ErrUnavailable
	case errors.Is(err, actors.ErrDryRunBusy):
		kind = api.ErrOverloaded
	case errors.Is(err, actors.ErrQuota):
		kind = api.ErrOverloaded
	case errors.As(err, new(*cron.IntervalError)):
		kind = api.ErrBadRequest
	case errors.Is(err, replication.ErrBackupUnreachable), errors.Is(err, replication.ErrNoBackup),
		errors.Is(err, replication.ErrNotOwner), errors.Is(err, replication.ErrResync), errors.Is(err, awcluster.ErrNoQuorum):
		kind = api.ErrUnavailable // the write is durable nowhere: retry (the owner or backup is changing)
	default:
		return err
	}
	return &classified{err: err, kind: kind}
}

func (b *backend) Submit(ctx context.Context, item *ans104.DataItem) (api.Ack, error) {
	if err := b.canSchedule(item); err != nil {
		return api.Ack{}, err
	}
	ack, err := b.n.host.Submit(ctx, item)
	if err != nil {
		return api.Ack{}, classify(err)
	}
	return api.Ack{ID: ack.ID, Timestamp: ack.Timestamp, Nonce: ack.Nonce}, nil
}

func (b *backend) Assign(ctx context.Context, req api.AssignRequest) (api.Ack, error) {
	if req.BaseLayer {
		return api.Ack{}, &classified{err: errors.New("base-layer assignments need an Arweave node to check confirmations; this node has no gateway"), kind: api.ErrNotImplemented}
	}
	ack, err := b.n.host.Assign(ctx, req.Process, req.Message, req.Exclude)
	if err != nil {
		return api.Ack{}, classify(err)
	}
	return api.Ack{ID: ack.ID, Timestamp: ack.Timestamp, Nonce: ack.Nonce, ProcessID: req.Process}, nil
}

// Monitor resumes (on) or pauses the crons of pid: ticks are log assignments from the spawn on,
// so monitoring is on unless a DELETE /monitor paused it (see actors.Host.Monitor).
func (b *backend) Monitor(ctx context.Context, pid ans104.ID, on bool, item *ans104.DataItem) error {
	p, err := b.Process(ctx, pid)
	if err != nil {
		return err
	}
	by := item.OwnerAddress()
	if owner := p.Item.OwnerAddress(); by != owner {
		return &classified{err: fmt.Errorf("only the owner of process %s (%s) may monitor or unmonitor it, not %s", pid, owner, by), kind: api.ErrForbidden}
	}
	id := item.ID()
	if _, err := b.n.store.GetItem(id); err == nil || id == pid {
		return &classified{err: fmt.Errorf("control item refused: %s is a stored (public) item, not one made for this request", id), kind: api.ErrForbidden}
	}
	if locs, err := b.n.store.ByMessageID(id); err == nil && len(locs) > 0 {
		return &classified{err: fmt.Errorf("control item refused: %s is a scheduled message, not one made for this request", id), kind: api.ErrForbidden}
	}
	// Items with a Timestamp are refused once stale, so they need remembering only for the
	// window; tagless ones (aoconnect's) are remembered up to controlKeep, oldest forgotten first.
	now := time.Now()
	at := now.UnixMilli()
	if ts, err := strconv.ParseInt(item.Tags.Value("Timestamp"), 10, 64); err == nil {
		at = ts
	} else {
		at = now.Add(100 * 365 * 24 * time.Hour).UnixMilli()
	}
	fresh, err := b.n.store.UseControlItem(id, at, now.Add(-b.n.cfg.API.ControlWindow).UnixMilli(), controlKeep)
	if err != nil {
		return classify(err)
	}
	if !fresh {
		return &classified{err: fmt.Errorf("control item refused: %s was used before (replay)", id), kind: api.ErrForbidden}
	}
	return classify(b.n.host.Monitor(ctx, pid, on))
}

// controlKeep bounds the control items remembered (a few MB of keys).
const controlKeep = 100_000

func (b *backend) Clock() (int64, uint64) { return time.Now().UnixMilli(), b.n.height.Load() }

// SchedulerAddress is the cluster's scheduler address (the scheduler key's), the same on every
// member: what GET /, /timestamp and the mainnet info route answer.
func (b *backend) SchedulerAddress() string { return b.n.host.Address() }

// canSchedule refuses a Process item naming a Scheduler this node cannot sign for (invariant 8,
// one scheduler identity): its log would carry assignments signed by another key than the one it
// names, and nobody could recover or verify it from Arweave.
func (b *backend) canSchedule(item *ans104.DataItem) error {
	if kind, err := ans104.Kind(item); err != nil || kind != ans104.KindProcess {
		return nil // not a Process (or not AO at all: Submit says why)
	}
	if sched := item.Tags.Value("Scheduler"); sched != b.SchedulerAddress() {
		return &classified{err: fmt.Errorf("the Process names Scheduler %q but this node schedules as %s: spawn with Scheduler %s (GET / answers it)",
			sched, b.SchedulerAddress(), b.SchedulerAddress()), kind: api.ErrBadRequest}
	}
	return nil
}

// toAPIResult is a stored result in the API's shape.
func toAPIResult(r *actors.StoredResult) *api.Result {
	out := &api.Result{Output: r.Output, Messages: r.Messages, Spawns: r.Spawns, Assignments: r.Assignments,
		GasUsed: r.GasUsed, Timestamp: r.Timestamp, Nonce: r.Nonce, Cron: r.Cron != "", CronKey: r.Cron, Quota: r.Quota}
	for _, rj := range r.Rejected {
		out.Rejected = append(out.Rejected, api.Rejected{Kind: rj.Kind, Position: rj.Position, Reason: rj.Reason})
	}
	if r.Error != "" {
		out.Error, _ = json.Marshal(r.Error)
		out.Messages, out.Spawns, out.Assignments, out.Output = nil, nil, nil, nil
	}
	return out
}

func (b *backend) DryRun(ctx context.Context, pid ans104.ID, msg json.RawMessage) (*api.Result, error) {
	r, err := b.n.host.DryRun(ctx, pid, msg)
	if err != nil {
		return nil, classify(err)
	}
	return toAPIResult(r), nil
}

func (b *backend) State(ctx context.Context, pid ans104.ID) (*api.State, error) {
	st, err := b.n.host.State(ctx, pid)
	if err != nil {
		return nil, classify(err)
	}
	return &api.State{Memory: st.Memory, Timestamp: st.Timestamp, Nonce: st.Nonce, BlockHeight: st.BlockHeight}, nil
}

func (b *backend) localItem(id ans104.ID) (*api.StoredItem, error) {
	if it, err := b.n.store.GetItem(id); err == nil {
		item, err := ans104.Parse(it.Raw, ans104.Limits{})
		if err != nil {
			return nil, err
		}
		return &api.StoredItem{Item: item, BlockHeight: it.BlockHeight, Timestamp: it.Timestamp}, nil
	}
	item, err := b.n.host.FindItem(id)
	if err == nil {
		it := &api.StoredItem{Item: item}
		it.BlockHeight, it.Timestamp = b.scheduledAt(id)
		return it, nil
	}
	if l, aerr := b.n.store.ByAssignmentID(id); aerr == nil {
		e, err := b.n.store.Entry(l.Process, l.Nonce)
		if err != nil {
			return nil, classify(err)
		}
		asg, err := ans104.Parse(e.Assignment, ans104.Limits{})
		if err != nil {
			return nil, err
		}
		return &api.StoredItem{Item: asg, BlockHeight: e.BlockHeight, Timestamp: e.Timestamp}, nil
	}
	return nil, classify(err)
}

// scheduledAt is the block height and time of the first log entry that holds item id (a process's
// own entry for a process), what GraphQL serves as the item's block; zero when no log holds it.
func (b *backend) scheduledAt(id ans104.ID) (uint64, int64) {
	nonce, pid := uint64(0), id
	if _, err := b.n.store.Process(id); err != nil {
		locs, err := b.n.store.ByMessageID(id)
		if err != nil || len(locs) == 0 {
			return 0, 0
		}
		nonce, pid = locs[0].Nonce, locs[0].Process
	}
	e, err := b.n.store.Entry(pid, nonce)
	if err != nil {
		return 0, 0
	}
	return e.BlockHeight, e.Timestamp
}

// Publish keeps a standalone item, as a bundler would take it. A Module is checked first: its
// format must be one this node runs, so that a spawn can never name a module it cannot load.
func (b *backend) Publish(ctx context.Context, item *ans104.DataItem) error {
	if kind, _ := ans104.Kind(item); kind == ans104.KindModule {
		m, err := ans104.AsModule(item)
		if err != nil {
			return err
		}
		if err := runtime.CheckFormat(m.Format); err != nil {
			return classify(err)
		}
		for _, name := range []string{"Memory-Limit", "Compute-Limit"} {
			if v := item.Tags.Value(name); v != "" {
				if err := checkLimit(name, v); err != nil {
					return &classified{err: fmt.Errorf("Module item has a bad %s tag: %w", name, err), kind: api.ErrBadRequest}
				}
			}
		}
	}
	ts, height := time.Now().UnixMilli(), b.n.height.Load()
	if err := b.storeItem(ctx, item, height, ts); err != nil {
		return err
	}
	return b.n.publishToMembers(ctx, item, height, ts)
}

// storeItem keeps a standalone item in this node's store.
func (b *backend) storeItem(ctx context.Context, item *ans104.DataItem, height uint64, ts int64) error {
	tags := make([]persistence.Tag, len(item.Tags))
	for i, t := range item.Tags {
		tags[i] = persistence.Tag{Name: t.Name, Value: t.Value}
	}
	return classify(b.n.store.PutItem(ctx, persistence.Item{ID: item.ID(), Raw: item.Bytes(), Owner: item.OwnerAddress(),
		Tags: tags, Timestamp: ts, BlockHeight: height}))
}

func checkLimit(name, v string) error {
	if name == "Memory-Limit" {
		_, err := runtime.ParseMemoryLimit(v)
		return err
	}
	_, err := runtime.ParseComputeLimit(v)
	return err
}

func (b *backend) localQueryItems(ctx context.Context, q api.ItemQuery) (*api.ItemPage, error) {
	out := &api.ItemPage{}
	if len(q.IDs) > 0 {
		for _, id := range q.IDs {
			it, err := b.Item(ctx, id)
			if errors.Is(err, api.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if matchesQuery(it.Item, q) {
				out.Items = append(out.Items, *it)
				out.Cursors = append(out.Cursors, strconv.Itoa(len(out.Items)))
			}
		}
		return out, nil
	}
	pq := persistence.ItemQuery{Owners: q.Owners, First: q.First, After: q.After, Desc: q.Desc}
	for _, t := range q.Tags {
		pq.Tags = append(pq.Tags, persistence.TagFilter{Name: t.Name, Values: t.Values})
	}
	if len(pq.Tags) == 0 && len(pq.Owners) == 0 {
		return nil, &classified{err: errors.New("a transactions query needs ids, owners or tags"), kind: api.ErrBadRequest}
	}
	refs, more, err := b.n.store.QueryItems(pq)
	if err != nil {
		return nil, classify(err)
	}
	out.HasMore = more
	for _, r := range refs {
		it, err := b.Item(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, *it)
		out.Cursors = append(out.Cursors, r.Cursor)
	}
	return out, nil
}

// matchesQuery applies the non-id conditions to an item fetched by id.
func matchesQuery(d *ans104.DataItem, q api.ItemQuery) bool {
	for _, f := range q.Tags {
		ok := false
		for _, v := range f.Values {
			for _, t := range d.Tags {
				ok = ok || (t.Name == f.Name && t.Value == v)
			}
		}
		if !ok {
			return false
		}
	}
	if len(q.Owners) > 0 {
		ok := false
		for _, o := range q.Owners {
			ok = ok || o == d.OwnerAddress()
		}
		if !ok {
			return false
		}
	}
	return true
}
