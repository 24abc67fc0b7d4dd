package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
	case errors.Is(err, actors.ErrBusy), errors.Is(err, actors.ErrNoPlacement):
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

func (b *backend) localProcess(pid ans104.ID) (*api.ProcessRecord, error) {
	rec, err := b.n.store.Process(pid)
	if err != nil {
		return nil, classify(err)
	}
	item, err := ans104.Parse(rec.Item, ans104.Limits{})
	if err != nil {
		return nil, err
	}
	return &api.ProcessRecord{Item: item, Timestamp: rec.Timestamp, BlockHeight: rec.BlockHeight}, nil
}

// logEntry turns a stored entry into the API's, with the process item as the message of the
// process's own assignment (nonce 0), as the reference SU lists it.
func (b *backend) logEntry(e persistence.Entry) (*api.LogEntry, error) {
	asg, err := ans104.Parse(e.Assignment, ans104.Limits{})
	if err != nil {
		return nil, fmt.Errorf("stored assignment %d: %w", e.Nonce, err)
	}
	out := &api.LogEntry{Nonce: e.Nonce, Timestamp: e.Timestamp, Assignment: asg}
	switch {
	case len(e.Message) > 0:
		if out.Message, err = ans104.Parse(e.Message, ans104.Limits{}); err != nil {
			return nil, fmt.Errorf("stored message %d: %w", e.Nonce, err)
		}
	case e.MessageID == (persistence.ID{}):
		rec, err := b.n.store.Process(e.Process)
		if err != nil {
			return nil, err
		}
		if out.Message, err = ans104.Parse(rec.Item, ans104.Limits{}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// locate finds the nonce of id (a message id, an assignment id, or the process id for its own
// assignment) in pid's log.
func (b *backend) locate(pid, id ans104.ID) (uint64, error) {
	if id == pid {
		if _, err := b.n.store.Process(pid); err != nil {
			return 0, err
		}
		return 0, nil
	}
	locs, err := b.n.store.ByMessageID(id)
	if err != nil && !errors.Is(err, persistence.ErrNotFound) {
		return 0, err
	}
	for _, l := range locs {
		if l.Process == pid {
			return l.Nonce, nil
		}
	}
	l, err := b.n.store.ByAssignmentID(id)
	if err == nil && l.Process == pid {
		return l.Nonce, nil
	}
	return 0, fmt.Errorf("%w: message %s is not in the log of process %s", persistence.ErrNotFound, id, pid)
}

func (b *backend) localLogEntry(pid, id ans104.ID) (*api.LogEntry, error) {
	nonce, err := b.locate(pid, id)
	if err != nil {
		return nil, classify(err)
	}
	e, err := b.n.store.Entry(pid, nonce)
	if err != nil {
		return nil, classify(err)
	}
	return b.logEntry(e)
}

func (b *backend) localLog(pid ans104.ID, q api.LogQuery) (*api.LogPage, error) {
	pq := persistence.Query{Process: pid, Limit: q.Limit, From: q.From, To: q.To}
	if q.ByNonce() {
		pq.By, pq.From, pq.To = persistence.ByNonce, q.FromNonce, q.ToNonce
	}
	page, err := b.n.store.Scan(pq)
	if err != nil {
		return nil, classify(err)
	}
	out := &api.LogPage{HasMore: page.HasMore}
	for _, e := range page.Entries {
		le, err := b.logEntry(e)
		if err != nil {
			return nil, err
		}
		out.Entries = append(out.Entries, *le)
	}
	return out, nil
}

func (b *backend) localLatest(pid ans104.ID) (*api.LogEntry, error) {
	e, ok, err := b.n.store.Head(pid)
	if err != nil {
		return nil, classify(err)
	}
	if !ok {
		return nil, &classified{err: errors.New("Latest message not available"), kind: api.ErrNotFound}
	}
	return b.logEntry(e)
}

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

func (b *backend) localResult(ctx context.Context, pid, id ans104.ID) (*api.Result, error) {
	nonce, err := b.locate(pid, id)
	if err != nil {
		return nil, classify(err)
	}
	r, err := b.n.host.Result(ctx, pid, nonce)
	if err != nil {
		return nil, classify(err)
	}
	return toAPIResult(r), nil
}

// Results pages the stored results as the reference CU does: those with a timestamp in (from, to],
// in the requested order, errored evaluations left out.
func (b *backend) localResults(pid ans104.ID, q api.ResultsQuery) (*api.ResultsPage, error) {
	return b.results(pid, q, false)
}

// localCron pages the results of cron ticks, as the reference CU's GET /cron does, after evaluating
// the log to its end when no upper bound is given (it matters with --lazy-eval).
func (b *backend) localCron(ctx context.Context, pid ans104.ID, q api.ResultsQuery) (*api.ResultsPage, error) {
	if q.To == nil {
		if last, ok, err := b.n.store.Head(pid); err == nil && ok {
			for {
				_, err := b.n.host.Result(ctx, pid, last.Nonce)
				// The store's head can be a moment ahead of the process's grain (its append is
				// durable, the grain has not heard yet): then the entry is "not found" briefly.
				if errors.Is(err, persistence.ErrNotFound) && ctx.Err() == nil {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if err != nil {
					return nil, classify(err)
				}
				break
			}
		}
	}
	return b.results(pid, q, true)
}

func (b *backend) results(pid ans104.ID, q api.ResultsQuery, cronOnly bool) (*api.ResultsPage, error) {
	if _, err := b.n.store.Process(pid); err != nil {
		return nil, classify(err)
	}
	evaluated, err := b.n.store.Evaluated(pid)
	if err != nil || evaluated == 0 {
		return &api.ResultsPage{}, err
	}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if q.From != nil {
		from = q.From.Timestamp
	}
	if q.To != nil {
		to = q.To.Timestamp
	}
	out := &api.ResultsPage{}
	var decodeErr error
	err = b.n.store.Results(pid, 0, evaluated-1, q.Desc, func(sr persistence.StoredResult) bool {
		r, err := actors.DecodeResult(sr.Result)
		if err != nil {
			decodeErr = err
			return false
		}
		if r.Timestamp <= from || r.Timestamp > to {
			// Outside (from, to]: in ascending order past `to` nothing more matches.
			return q.Desc || r.Timestamp <= to
		}
		if r.Error != "" || (cronOnly && r.Cron == "") {
			return true
		}
		if len(out.Results) == q.Limit {
			out.HasMore = true
			return false
		}
		out.Results = append(out.Results, *toAPIResult(r))
		return true
	})
	if decodeErr != nil {
		return nil, decodeErr
	}
	return out, err
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
