package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/compute"
	"github.com/actorweave/actorweave/dryrun"
	"github.com/actorweave/actorweave/runtime"
)

// dryRunBase is what a dry-run starts from: the process's latest evaluated memory and what its
// evaluator knows of the module. mem is never written to (each dry-run copies it).
type dryRunBase struct {
	next     uint64 // entries evaluated when mem was taken
	mem      []byte
	mod      *runtime.Module
	limits   runtime.Limits
	env      []byte
	moduleID ans104.ID
	ts       int64
	height   uint64
	// The process's WeaveDrive: a dry-run reads what a message would.
	drive       runtime.Drive
	driveBudget int64
}

// Dry-run refusals, classified by the node as HTTP statuses.
var (
	ErrDryRunFull = dryrun.ErrFull // 503
	ErrDryRunBusy = dryrun.ErrBusy // 429
)

// dryRunLocal runs a dry-run of pid (owned here) in the node's pool: the evaluator is asked only
// for a copy of its memory, so that a dry-run that loops cannot hold the process's own messages,
// and a full pool refuses at once instead of queueing without bound.
func (h *Host) dryRunLocal(ctx context.Context, pid ans104.ID, body []byte) (*StoredResult, error) {
	var out *StoredResult
	err := h.dry.Do(ctx, pid.String(), func(ctx context.Context) error {
		br, err := askGrain[dryRunBaseResponse](ctx, h, pid, &dryRunBaseRequest{})
		if err != nil {
			return err
		}
		b := br.base
		msg, err := compute.DryRunJSON(body, pid, b.moduleID, b.ts, b.height)
		if err != nil {
			return err
		}
		limits := b.limits
		limits.Deadline = h.dry.Config().Deadline
		inst, err := h.deps.Engine.Restore(ctx, b.mod, limits, append([]byte(nil), b.mem...))
		if err != nil {
			return err
		}
		defer inst.Close(context.WithoutCancel(ctx))
		inst.SetDrive(b.drive, b.driveBudget)
		r, err := inst.Handle(ctx, msg, b.env)
		if err != nil {
			return err
		}
		if ctx.Err() != nil && r.Error != "" {
			r.Error = fmt.Sprintf("%s (dry-run deadline %s, --dry-run-deadline)", r.Error, limits.Deadline)
		}
		h.metrics.dryRuns.Inc()
		out = &StoredResult{Result: *r, Timestamp: b.ts, BlockHeight: b.height}
		h.capResult(out)
		return nil
	})
	if errors.Is(err, dryrun.ErrClosed) || errors.Is(err, runtime.ErrEngineClosed) {
		err = fmt.Errorf("%w: the node is shutting down", ErrBusy)
	}
	return out, err
}

// capResult replaces a result larger than MaxResultBytes (output, messages, spawns and
// assignments as the module returned them) with an Error saying so: a module must not make the
// node store and serve tens of megabytes per message. The evaluation itself stands (its memory is
// kept, as the module ran to completion); what it returned is dropped, outbox included.
func (h *Host) capResult(r *StoredResult) (capped bool) {
	size := len(r.Output)
	for _, l := range [][]json.RawMessage{r.Messages, r.Spawns, r.Assignments} {
		for _, m := range l {
			size += len(m)
		}
	}
	if size <= h.cfg.MaxResultBytes {
		return false
	}
	h.metrics.quotaHits.WithLabelValues("result_size").Inc()
	r.Result = runtime.Result{GasUsed: r.GasUsed, Messages: []json.RawMessage{}, Spawns: []json.RawMessage{}, Assignments: []json.RawMessage{},
		Error: fmt.Sprintf("result of %d bytes is over the %d-byte limit (--max-result-bytes): output and outbox dropped", size, h.cfg.MaxResultBytes)}
	return true
}
