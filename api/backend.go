package api

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/actorweave/actorweave/ans104"
)

// Backend is everything the HTTP layer asks of a node. The api package renders and parses; the
// node decides. Errors wrap the sentinels below so that the layer maps them to status codes.
type Backend interface {
	// Messenger (MU) role.

	// Submit schedules a verified Process or Message item and returns once it is durable.
	Submit(ctx context.Context, item *ans104.DataItem) (Ack, error)
	// Assign schedules an existing message on another process (the assign flow).
	Assign(ctx context.Context, req AssignRequest) (Ack, error)
	// Monitor turns cron ticking of a process on or off; by is the address that signed the
	// request (aoconnect signs it with the caller's wallet).
	// Monitor resumes (on) or pauses pid's crons for a control item the API has checked (it
	// targets pid, names the action, is recent): the backend checks the signer is the process
	// owner, the item is not public (stored here) and was never used before (ErrForbidden).
	Monitor(ctx context.Context, pid ans104.ID, on bool, item *ans104.DataItem) error

	// Scheduler (SU) role.

	// Clock is the scheduler's current time (ms) and block height.
	Clock() (int64, uint64)
	// SchedulerAddress is the cluster's scheduler address (the scheduler key's, the same on every
	// member), what processes name in their Scheduler tag (docs/scheduler-identity.md).
	SchedulerAddress() string
	Process(ctx context.Context, pid ans104.ID) (*ProcessRecord, error)
	// LogEntry finds the entry of pid whose message id or assignment id is id.
	LogEntry(ctx context.Context, pid, id ans104.ID) (*LogEntry, error)
	Log(ctx context.Context, pid ans104.ID, q LogQuery) (*LogPage, error)
	Latest(ctx context.Context, pid ans104.ID) (*LogEntry, error)

	// Compute (CU) role.

	// Result evaluates pid up to and including message id (a message or assignment id) and returns
	// its result, waiting at most until ctx ends.
	Result(ctx context.Context, pid, id ans104.ID) (*Result, error)
	Results(ctx context.Context, pid ans104.ID, q ResultsQuery) (*ResultsPage, error)
	// Cron is Results restricted to the evaluations of cron ticks (GET /cron/:pid).
	Cron(ctx context.Context, pid ans104.ID, q ResultsQuery) (*ResultsPage, error)
	// DryRun evaluates msg (the reference CU's message JSON) on a throwaway copy of pid's latest state.
	DryRun(ctx context.Context, pid ans104.ID, msg json.RawMessage) (*Result, error)
	// State returns pid's latest linear memory.
	State(ctx context.Context, pid ans104.ID) (*State, error)

	// Gateway role: the items the node holds.

	// Item returns any data item the node holds (process, message, module, assignment, pushed item).
	Item(ctx context.Context, id ans104.ID) (*StoredItem, error)
	// Publish stores a verified standalone item (a Module, or anything a bundler would take).
	Publish(ctx context.Context, item *ans104.DataItem) error
	// QueryItems answers GraphQL transactions queries over the items the node holds.
	QueryItems(ctx context.Context, q ItemQuery) (*ItemPage, error)
}

// Sentinel errors a Backend wraps; the api maps each to a status code (errors.go).
var (
	ErrNotFound       = errors.New("not found")               // 404
	ErrConflict       = errors.New("already exists")          // 409
	ErrBadRequest     = errors.New("bad request")             // 400
	ErrForbidden      = errors.New("forbidden")               // 403
	ErrUnsupported    = errors.New("not supported")           // 422
	ErrTooLarge       = errors.New("over a limit")            // 413
	ErrUnavailable    = errors.New("temporarily unavailable") // 503
	ErrTimeout        = errors.New("timed out")               // 504
	ErrOverloaded     = errors.New("over quota")              // 429
	ErrNotImplemented = errors.New("not implemented")         // 501
)

// Ack is what a durable submit returns.
type Ack struct {
	ID        ans104.ID
	Timestamp int64 // ms
	Nonce     uint64
	ProcessID ans104.ID // the process the item was scheduled on
}

// AssignRequest is POST /?process-id=&assign=.
type AssignRequest struct {
	Process   ans104.ID
	Message   ans104.ID
	BaseLayer bool
	Exclude   []string
}

// ProcessRecord is a process as the SU serves it.
type ProcessRecord struct {
	Item        *ans104.DataItem
	Timestamp   int64
	BlockHeight uint64
}

// LogEntry is one slot of a process's log: its assignment and, unless assignment-only, its message.
type LogEntry struct {
	Nonce      uint64
	Timestamp  int64
	Assignment *ans104.DataItem
	Message    *ans104.DataItem // nil for an assignment-only entry
}

// LogQuery selects a page of a log: by timestamp (From exclusive, To inclusive, ms) unless a nonce
// bound is given (FromNonce exclusive, ToNonce inclusive).
type LogQuery struct {
	From, To           *int64
	FromNonce, ToNonce *int64
	Limit              int
}

// ByNonce reports whether the query pages by nonce.
func (q LogQuery) ByNonce() bool { return q.FromNonce != nil || q.ToNonce != nil }

// LogPage is one page of a log.
type LogPage struct {
	Entries []LogEntry
	HasMore bool
}

// Result is one evaluation, in the reference CU's shape.
type Result struct {
	Output      json.RawMessage   // string or object as the module produced it
	Messages    []json.RawMessage // outbox messages as the module produced them
	Spawns      []json.RawMessage
	Assignments []json.RawMessage
	Error       json.RawMessage // nil when the evaluation succeeded
	GasUsed     uint64
	// Position of the evaluation, for /results cursors.
	Timestamp int64
	Nonce     uint64
	Cron      bool
	CronKey   string // the reference's "<index>-<interval>" of a cron evaluation
	// Quota names a per-process quota the evaluation's pushes met (delayed or rejected pushes).
	Quota string
	// Rejected lists the outbox entries that were not pushed, and why.
	Rejected []Rejected
}

// Rejected is an outbox entry of a result that was not pushed: its kind (message, spawn,
// assignment), its position in that list, and why.
type Rejected struct {
	Kind     string `json:"Kind"`
	Position int    `json:"Position"`
	Reason   string `json:"Reason"`
}

// ResultsQuery is GET /results/:pid: From and To are cursors or bare timestamps, Sort is ASC or DESC.
type ResultsQuery struct {
	From, To *Cursor
	Desc     bool
	Limit    int
}

// Cursor positions an evaluation in a process's result stream.
type Cursor struct {
	Timestamp int64  `json:"timestamp"`
	Ordinate  string `json:"ordinate"`
	Cron      string `json:"cron,omitempty"`
	Sort      string `json:"sort"`
}

// ResultsPage is one page of /results.
type ResultsPage struct {
	Results []Result
	HasMore bool
}

// State is a process's memory at its latest evaluation.
type State struct {
	Memory      []byte
	Timestamp   int64
	Nonce       uint64
	BlockHeight uint64
}

// StoredItem is an item with where the node got it.
type StoredItem struct {
	Item        *ans104.DataItem
	BlockHeight uint64 // the node's block height when it stored the item
	Timestamp   int64  // ms
}

// ItemQuery is the subset of the Arweave GraphQL transactions query the node answers.
type ItemQuery struct {
	IDs        []ans104.ID
	Owners     []string // wallet addresses
	Recipients []string
	Tags       []TagFilter
	First      int
	After      string // opaque cursor
	Desc       bool   // sort HEIGHT_DESC
}

// TagFilter matches items having a tag named Name with one of Values.
type TagFilter struct {
	Name   string
	Values []string
}

// ItemPage is one page of QueryItems.
type ItemPage struct {
	Items   []StoredItem
	Cursors []string
	HasMore bool
}
