package actors

import (
	"errors"

	"github.com/actorweave/actorweave/actors/grain"
	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/cron"
	"github.com/actorweave/actorweave/messenger"
	"github.com/actorweave/actorweave/runtime"
)

// Requests to a process grain and their replies. They stay in-process for now (one member); the
// cluster issue puts them in a proto envelope for the wire.

// submitRequest schedules a verified Process or Message item on the grain's process.
type submitRequest struct {
	item *ans104.DataItem
}

// assignRequest schedules an existing message (held by this node or not) on the process.
type assignRequest struct {
	message ans104.ID
	exclude []string
}

// Ack is a durable scheduling (the grain core's).
type Ack = grain.Ack

type submitResponse struct {
	ack Ack
	err error
}

// resultRequest waits until entry nonce is evaluated.
type resultRequest struct{ nonce uint64 }

type resultResponse struct {
	result []byte
	err    error
}

// dryRunRequest evaluates a message on a throwaway copy of the latest state.
type dryRunRequest struct{ body []byte }

type dryRunResponse struct {
	result *StoredResult
	err    error
}

// dryRunBaseRequest asks a process's evaluator for what a dry-run starts from: a copy of its
// latest evaluated memory. The dry-run itself runs in the node's pool (dryrun.go), never in the
// evaluator.
type dryRunBaseRequest struct{}

type dryRunBaseResponse struct {
	base *dryRunBase
	err  error
}

// stateRequest asks for the latest memory.
type stateRequest struct{}

type stateResponse struct {
	state *MemoryState
	err   error
}

// MemoryState is a process's memory after its latest evaluation.
type MemoryState struct {
	Memory      []byte
	Nonce       uint64
	Timestamp   int64
	BlockHeight uint64
}

// tickRequest asks a grain to append the cron ticks due in a window (from the ticker).
type tickRequest struct{ w cron.Window }

// tickResponse tells the ticker where the process's crons stand (to schedule the next wake).
type tickResponse struct {
	specs  []cron.Spec
	origin cron.Origin
	last   []uint64
	paused bool
	err    error
}

// monitorRequest pauses (on false) or resumes (on true) a process's crons.
type monitorRequest struct{ on bool }

// Internal messages.
type appendDone struct {
	batch []*grain.Submit
	err   error
}

// handoverDone ends a hand-over run off the mailbox (startHandover): what it read of the process.
type handoverDone struct {
	l           loaded
	loadErr     error
	handoverErr error
}

type headAdvanced struct{ entries []evalEntry }
type evalContinue struct{}

// driveRetry ends an evaluator's wait for WeaveDrive (waitForDrive).
type driveRetry struct{}
type evalProgress struct {
	evaluated uint64
	idle      bool
}
type passivate struct{}  // to the evaluator: checkpoint if worth it, drop the instance
type passivated struct{} // its answer
type idleCheck struct{}  // to a grain: the sweeper saw no request for IdleTimeout

// StoredResult is how a result is kept in the store and served: the module's result (the CU's
// fields) plus where it sits in the log and the outbox entries that could not be pushed.
type StoredResult struct {
	runtime.Result
	Nonce       uint64               `json:"Nonce"`
	Timestamp   int64                `json:"Timestamp"`
	BlockHeight uint64               `json:"BlockHeight"`
	Rejected    []messenger.Rejected `json:"Rejected,omitempty"`
	// Cron is the reference's cron key ("<index>-<interval>") when the entry was a cron tick.
	Cron string `json:"Cron,omitempty"`
	// Quota says which per-process quota this evaluation's pushes met, if any.
	Quota string `json:"Quota,omitempty"`
}

// Errors of the actors, wrapped with detail.
var (
	ErrProcessNotFound = errors.New("process not found")
	ErrProcessExists   = errors.New("process already exists")
	ErrModuleNotFound  = errors.New("module not found")
	ErrWrongProcess    = errors.New("item does not belong to this process")
	ErrStopping        = grain.ErrStopping
	ErrBusy            = grain.ErrBusy
	ErrQuota           = grain.ErrQuota
)
