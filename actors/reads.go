package actors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/cluster/clusterpb"
	"github.com/actorweave/actorweave/persistence"
)

// The reads of a process's data, each declared once. They run on the owner, which holds the log
// and the results, after it proved its copy current (op.read); only a result not evaluated yet
// waits in the process's grain. What the store keeps as bytes crosses as bytes: items, assignments
// and results are never decoded and encoded again on the way.

// ProcessRecord is a process as the SU serves it: the signed Process item and when it was spawned.
type ProcessRecord struct {
	Item        []byte
	Timestamp   int64
	BlockHeight uint64
}

// LogEntry is a log entry as the SU lists it: the raw signed assignment and, unless the entry is
// assignment-only, the raw message (the Process item for the process's own first entry).
type LogEntry struct {
	Nonce      uint64
	Timestamp  int64
	Assignment []byte
	Message    []byte
}

// LogQuery pages a log by timestamp, or by nonce with ByNonce: From is exclusive and To inclusive,
// nil for unbounded.
type LogQuery struct {
	ByNonce  bool
	From, To *int64
	Limit    int
}

// LogPage is one page of a log.
type LogPage struct {
	Entries []LogEntry
	HasMore bool
}

// ResultsQuery pages the results with a timestamp in (From, To] (nil: unbounded), errored
// evaluations left out, as the reference CU pages them; CronOnly keeps cron ticks' alone.
type ResultsQuery struct {
	From, To *int64
	Desc     bool
	Limit    int
	CronOnly bool
}

// ResultsPage is one page of results.
type ResultsPage struct {
	Results []*StoredResult
	HasMore bool
	raw     [][]byte // as stored, for the wire
}

// Process returns pid's record, read on its owner.
func (h *Host) Process(ctx context.Context, pid ans104.ID) (*ProcessRecord, error) {
	return call(ctx, h, opProcess, pid, struct{}{})
}

// LogEntry returns the entry of pid's log whose message or assignment is id (pid itself for the
// first entry).
func (h *Host) LogEntry(ctx context.Context, pid, id ans104.ID) (*LogEntry, error) {
	return call(ctx, h, opEntry, pid, entryQuery{id: id})
}

// Latest returns the last entry of pid's log.
func (h *Host) Latest(ctx context.Context, pid ans104.ID) (*LogEntry, error) {
	return call(ctx, h, opEntry, pid, entryQuery{latest: true})
}

// Log pages pid's log.
func (h *Host) Log(ctx context.Context, pid ans104.ID, q LogQuery) (*LogPage, error) {
	return call(ctx, h, opLog, pid, q)
}

// Results pages pid's results.
func (h *Host) Results(ctx context.Context, pid ans104.ID, q ResultsQuery) (*ResultsPage, error) {
	return call(ctx, h, opResults, pid, q)
}

// ResultOf waits until the entry of pid's log whose message or assignment is id is evaluated and
// returns its result.
func (h *Host) ResultOf(ctx context.Context, pid, id ans104.ID) (*StoredResult, error) {
	raw, err := call(ctx, h, opResultOf, pid, id)
	if err != nil {
		return nil, err
	}
	return decodeResult(raw)
}

// readOps are the reads, all of which cross the wire.
var readOps = []wired{opProcess, opEntry, opLog, opResults, opResultOf}

var opProcess = &op[struct{}, *ProcessRecord]{
	name:    "read.process",
	recover: true,
	read:    true,
	serve: func(_ context.Context, h *Host, pid ans104.ID, _ struct{}) (*ProcessRecord, error) {
		rec, err := h.deps.Store.Process(pid)
		if err != nil {
			return nil, err
		}
		return &ProcessRecord{Item: rec.Item, Timestamp: rec.Timestamp, BlockHeight: rec.BlockHeight}, nil
	},
	encodeReq: func(_ *Host, pid ans104.ID, _ struct{}) proto.Message {
		return &clusterpb.ProcessRequest{Process: pid[:]}
	},
	decodeReq: func(_ *Host, body []byte) (ans104.ID, struct{}, error) {
		pid, err := decodeFor(body, &clusterpb.ProcessRequest{})
		return pid, struct{}{}, err
	},
	encodeRep: func(r *ProcessRecord) (proto.Message, error) {
		return &clusterpb.ProcessReply{Item: r.Item, Timestamp: r.Timestamp, BlockHeight: r.BlockHeight}, nil
	},
	decodeRep: func(body []byte) (*ProcessRecord, error) {
		r, err := unmarshal[clusterpb.ProcessReply](body)
		if err != nil {
			return nil, err
		}
		return &ProcessRecord{Item: r.Item, Timestamp: r.Timestamp, BlockHeight: r.BlockHeight}, nil
	},
}

type entryQuery struct {
	id     ans104.ID
	latest bool
}

var opEntry = &op[entryQuery, *LogEntry]{
	name:    "read.entry",
	recover: true,
	read:    true,
	serve: func(_ context.Context, h *Host, pid ans104.ID, q entryQuery) (*LogEntry, error) {
		if q.latest {
			e, ok, err := h.deps.Store.Head(pid)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, errNoLatest
			}
			return h.logEntry(e)
		}
		nonce, err := h.nonceOf(pid, q.id)
		if err != nil {
			return nil, err
		}
		e, err := h.deps.Store.Entry(pid, nonce)
		if err != nil {
			return nil, err
		}
		return h.logEntry(e)
	},
	encodeReq: func(_ *Host, pid ans104.ID, q entryQuery) proto.Message {
		return &clusterpb.EntryRequest{Process: pid[:], Id: q.id[:], Latest: q.latest}
	},
	decodeReq: func(_ *Host, body []byte) (ans104.ID, entryQuery, error) {
		var req clusterpb.EntryRequest
		pid, err := decodeFor(body, &req)
		if err != nil || req.Latest {
			return pid, entryQuery{latest: true}, err
		}
		id, err := idOf(req.Id)
		return pid, entryQuery{id: id}, err
	},
	encodeRep: func(e *LogEntry) (proto.Message, error) { return wireEntry(e), nil },
	decodeRep: func(body []byte) (*LogEntry, error) {
		w, err := unmarshal[clusterpb.Entry](body)
		if err != nil {
			return nil, err
		}
		return entryOf(w), nil
	},
}

// errNoLatest is the reference SU's answer for the latest entry of an empty log.
var errNoLatest = notFound("Latest message not available")

// notFound is a not-found error with the reference's wording.
type notFound string

func (e notFound) Error() string { return string(e) }
func (e notFound) Unwrap() error { return persistence.ErrNotFound }

var opLog = &op[LogQuery, *LogPage]{
	name:    "read.log",
	recover: true,
	read:    true,
	serve: func(_ context.Context, h *Host, pid ans104.ID, q LogQuery) (*LogPage, error) {
		pq := persistence.Query{Process: pid, Limit: q.Limit, From: q.From, To: q.To}
		if q.ByNonce {
			pq.By = persistence.ByNonce
		}
		page, err := h.deps.Store.Scan(pq)
		if err != nil {
			return nil, err
		}
		out := &LogPage{HasMore: page.HasMore, Entries: make([]LogEntry, 0, len(page.Entries))}
		for _, e := range page.Entries {
			le, err := h.logEntry(e)
			if err != nil {
				return nil, err
			}
			out.Entries = append(out.Entries, *le)
		}
		return out, nil
	},
	encodeReq: func(_ *Host, pid ans104.ID, q LogQuery) proto.Message {
		return &clusterpb.LogRequest{Process: pid[:], ByNonce: q.ByNonce, From: q.From, To: q.To, Limit: int64(q.Limit)}
	},
	decodeReq: func(_ *Host, body []byte) (ans104.ID, LogQuery, error) {
		var req clusterpb.LogRequest
		pid, err := decodeFor(body, &req)
		if err != nil {
			return pid, LogQuery{}, err
		}
		limit, err := intOf(req.Limit)
		return pid, LogQuery{ByNonce: req.ByNonce, From: req.From, To: req.To, Limit: limit}, err
	},
	encodeRep: func(p *LogPage) (proto.Message, error) {
		out := &clusterpb.LogReply{HasMore: p.HasMore, Entries: make([]*clusterpb.Entry, len(p.Entries))}
		for i := range p.Entries {
			out.Entries[i] = wireEntry(&p.Entries[i])
		}
		return out, nil
	},
	decodeRep: func(body []byte) (*LogPage, error) {
		w, err := unmarshal[clusterpb.LogReply](body)
		if err != nil {
			return nil, err
		}
		out := &LogPage{HasMore: w.HasMore, Entries: make([]LogEntry, len(w.Entries))}
		for i, e := range w.Entries {
			out.Entries[i] = *entryOf(e)
		}
		return out, nil
	},
}

var opResults = &op[ResultsQuery, *ResultsPage]{
	name:    "read.results",
	recover: true,
	read:    true,
	serve: func(ctx context.Context, h *Host, pid ans104.ID, q ResultsQuery) (*ResultsPage, error) {
		return h.results(ctx, pid, q)
	},
	encodeReq: func(_ *Host, pid ans104.ID, q ResultsQuery) proto.Message {
		return &clusterpb.ResultsRequest{Process: pid[:], From: q.From, To: q.To, Desc: q.Desc, Limit: int64(q.Limit), CronOnly: q.CronOnly}
	},
	decodeReq: func(_ *Host, body []byte) (ans104.ID, ResultsQuery, error) {
		var req clusterpb.ResultsRequest
		pid, err := decodeFor(body, &req)
		if err != nil {
			return pid, ResultsQuery{}, err
		}
		limit, err := intOf(req.Limit)
		return pid, ResultsQuery{From: req.From, To: req.To, Desc: req.Desc, Limit: limit, CronOnly: req.CronOnly}, err
	},
	encodeRep: func(p *ResultsPage) (proto.Message, error) {
		return &clusterpb.ResultsReply{Results: p.raw, HasMore: p.HasMore}, nil
	},
	decodeRep: func(body []byte) (*ResultsPage, error) {
		w, err := unmarshal[clusterpb.ResultsReply](body)
		if err != nil {
			return nil, err
		}
		out := &ResultsPage{HasMore: w.HasMore, Results: make([]*StoredResult, len(w.Results))}
		for i, b := range w.Results {
			if out.Results[i], err = decodeResult(b); err != nil {
				return nil, err
			}
		}
		return out, nil
	},
}

var opResultOf = &op[ans104.ID, []byte]{
	name:    "read.result",
	recover: true,
	read:    true,
	serve: func(ctx context.Context, h *Host, pid ans104.ID, id ans104.ID) ([]byte, error) {
		nonce, err := h.nonceOf(pid, id)
		if err != nil {
			return nil, err
		}
		return h.waitResult(ctx, pid, nonce)
	},
	encodeReq: func(_ *Host, pid ans104.ID, id ans104.ID) proto.Message {
		return &clusterpb.ResultOfRequest{Process: pid[:], Id: id[:]}
	},
	decodeReq: func(_ *Host, body []byte) (ans104.ID, ans104.ID, error) {
		return decodeItemOf(body, &clusterpb.ResultOfRequest{})
	},
	encodeRep: func(raw []byte) (proto.Message, error) { return &clusterpb.ResultReply{Result: raw}, nil },
	decodeRep: func(body []byte) ([]byte, error) {
		r, err := unmarshal[clusterpb.ResultReply](body)
		if err != nil {
			return nil, err
		}
		return r.Result, nil
	},
}

// waitResult returns the stored result of entry nonce of pid (owned here), waiting in the grain
// until it is evaluated.
func (h *Host) waitResult(ctx context.Context, pid ans104.ID, nonce uint64) ([]byte, error) {
	if b, err := h.deps.Store.Result(pid, nonce); err == nil {
		return b, nil
	} else if !errors.Is(err, persistence.ErrNotFound) {
		return nil, err
	}
	r, err := askGrain[resultResponse](ctx, h, pid, &resultRequest{nonce: nonce})
	if err != nil {
		return nil, err
	}
	return r.result, nil
}

// nonceOf finds the nonce of id (a message id, an assignment id, or the process id for its own
// assignment) in pid's log.
func (h *Host) nonceOf(pid, id ans104.ID) (uint64, error) {
	st := h.deps.Store
	if id == pid {
		if _, err := st.Process(pid); err != nil {
			return 0, err
		}
		return 0, nil
	}
	locs, err := st.ByMessageID(id)
	if err != nil && !errors.Is(err, persistence.ErrNotFound) {
		return 0, err
	}
	for _, l := range locs {
		if l.Process == pid {
			return l.Nonce, nil
		}
	}
	l, err := st.ByAssignmentID(id)
	if err == nil && l.Process == pid {
		return l.Nonce, nil
	}
	return 0, fmt.Errorf("%w: message %s is not in the log of process %s", persistence.ErrNotFound, id, pid)
}

// logEntry is a stored entry as the SU lists it, with the Process item as the message of the
// process's own assignment (nonce 0).
func (h *Host) logEntry(e persistence.Entry) (*LogEntry, error) {
	out := &LogEntry{Nonce: e.Nonce, Timestamp: e.Timestamp, Assignment: e.Assignment, Message: e.Message}
	if len(e.Message) == 0 && e.MessageID == (persistence.ID{}) {
		rec, err := h.deps.Store.Process(e.Process)
		if err != nil {
			return nil, err
		}
		out.Message = rec.Item
	}
	return out, nil
}

// results pages the stored results as the reference CU does. Without an upper bound, a page of
// cron results first waits for the log to be evaluated to its end (with lazy evaluation nothing
// else would evaluate it), as the reference CU's GET /cron does.
func (h *Host) results(ctx context.Context, pid ans104.ID, q ResultsQuery) (*ResultsPage, error) {
	st := h.deps.Store
	if _, err := st.Process(pid); err != nil {
		return nil, err
	}
	if q.CronOnly && q.To == nil {
		if last, ok, err := st.Head(pid); err == nil && ok {
			for {
				_, err := h.waitResult(ctx, pid, last.Nonce)
				// The store's head can be a moment ahead of the process's grain (its append is
				// durable, the grain has not heard yet): then the entry is "not found" briefly.
				if errors.Is(err, persistence.ErrNotFound) && ctx.Err() == nil {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if err != nil {
					return nil, err
				}
				break
			}
		}
	}
	evaluated, err := st.Evaluated(pid)
	if err != nil || evaluated == 0 {
		return &ResultsPage{}, err
	}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if q.From != nil {
		from = *q.From
	}
	if q.To != nil {
		to = *q.To
	}
	out := &ResultsPage{}
	var decodeErr error
	err = st.Results(pid, 0, evaluated-1, q.Desc, func(sr persistence.StoredResult) bool {
		r, err := decodeResult(sr.Result)
		if err != nil {
			decodeErr = err
			return false
		}
		if r.Timestamp <= from || r.Timestamp > to {
			// Outside (from, to]: in ascending order past `to` nothing more matches.
			return q.Desc || r.Timestamp <= to
		}
		if r.Error != "" || (q.CronOnly && r.Cron == "") {
			return true
		}
		if len(out.Results) == q.Limit {
			out.HasMore = true
			return false
		}
		out.Results = append(out.Results, r)
		out.raw = append(out.raw, sr.Result)
		return true
	})
	if decodeErr != nil {
		return nil, decodeErr
	}
	return out, err
}

func wireEntry(e *LogEntry) *clusterpb.Entry {
	return &clusterpb.Entry{Nonce: e.Nonce, Timestamp: e.Timestamp, Assignment: e.Assignment, Message: e.Message}
}

func entryOf(w *clusterpb.Entry) *LogEntry {
	return &LogEntry{Nonce: w.Nonce, Timestamp: w.Timestamp, Assignment: w.Assignment, Message: w.Message}
}

// intOf reads a page size off the wire.
func intOf(v int64) (int, error) {
	if v < 0 || v > math.MaxInt32 {
		return 0, fmt.Errorf("%w: page size %d", persistence.ErrInvalid, v)
	}
	return int(v), nil
}
