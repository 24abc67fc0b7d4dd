package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/persistence"
)

// The host's operations, one per thing a node is asked. Each routes to the grain of the process
// concerned.

// Submit schedules a verified Process or Message item on its process and returns once durable.
func (h *Host) Submit(ctx context.Context, item *ans104.DataItem) (Ack, error) {
	pid, err := processOf(item)
	if err != nil {
		return Ack{}, err
	}
	return h.ack(h.request(ctx, pid, &submitRequest{item: item}))
}

// processOf is the process an item is scheduled on: its own id for a Process, its target for a Message.
func processOf(item *ans104.DataItem) (ans104.ID, error) {
	kind, err := ans104.Kind(item)
	if err != nil {
		return ans104.ID{}, err
	}
	switch kind {
	case ans104.KindProcess:
		return item.ID(), nil
	case ans104.KindMessage:
		if _, err := ans104.AsMessage(item); err != nil {
			return ans104.ID{}, err
		}
		return item.TargetID(), nil
	}
	return ans104.ID{}, fmt.Errorf("only Process and Message items are scheduled, not %q", kind)
}

func encodeResult(r *StoredResult) ([]byte, error) { return json.Marshal(r) }

// Assign schedules message on process pid (the assign flow).
func (h *Host) Assign(ctx context.Context, pid, message ans104.ID, exclude []string) (Ack, error) {
	return h.ack(h.request(ctx, pid, &assignRequest{message: message, exclude: exclude}))
}

func (h *Host) ack(res any, err error) (Ack, error) {
	if err != nil {
		return Ack{}, err
	}
	r, ok := res.(*submitResponse)
	if !ok {
		return Ack{}, fmt.Errorf("actors: unexpected reply %T", res)
	}
	return r.ack, r.err
}

// Result waits until entry nonce of pid is evaluated and returns its stored result.
func (h *Host) Result(ctx context.Context, pid ans104.ID, nonce uint64) (*StoredResult, error) {
	if b, err := h.deps.Store.Result(pid, nonce); err == nil {
		return decodeResult(b)
	} else if !errors.Is(err, persistence.ErrNotFound) {
		return nil, err
	}
	res, err := h.request(ctx, pid, &resultRequest{nonce: nonce})
	if err != nil {
		return nil, err
	}
	r, ok := res.(*resultResponse)
	if !ok {
		return nil, fmt.Errorf("actors: unexpected reply %T", res)
	}
	if r.err != nil {
		return nil, r.err
	}
	return decodeResult(r.result)
}

// DecodeResult reads a stored result.
func decodeResult(b []byte) (*StoredResult, error) {
	var r StoredResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("stored result: %w", err)
	}
	return &r, nil
}

// DecodeResult reads a result as the store keeps it.
func DecodeResult(b []byte) (*StoredResult, error) { return decodeResult(b) }

// DryRun evaluates body (the CU's message JSON) on a copy of pid's latest state.
func (h *Host) DryRun(ctx context.Context, pid ans104.ID, body []byte) (*StoredResult, error) {
	res, err := h.request(ctx, pid, &dryRunRequest{body: body})
	if err != nil {
		return nil, err
	}
	r, ok := res.(*dryRunResponse)
	if !ok {
		return nil, fmt.Errorf("actors: unexpected reply %T", res)
	}
	return r.result, r.err
}

// State returns pid's memory after its latest evaluation.
func (h *Host) State(ctx context.Context, pid ans104.ID) (*MemoryState, error) {
	res, err := h.request(ctx, pid, &stateRequest{})
	if err != nil {
		return nil, err
	}
	r, ok := res.(*stateResponse)
	if !ok {
		return nil, fmt.Errorf("actors: unexpected reply %T", res)
	}
	return r.state, r.err
}

// findItem returns any item this node holds by id: a standalone item (module, process, pushed to a
// wallet) or a message in some process's log.
func (h *Host) findItem(id ans104.ID) (*ans104.DataItem, error) {
	st := h.deps.Store
	if it, err := st.GetItem(id); err == nil {
		return ans104.Parse(it.Raw, ans104.Limits{})
	} else if !errors.Is(err, persistence.ErrNotFound) {
		return nil, err
	}
	locs, err := st.ByMessageID(id)
	if err != nil && !errors.Is(err, persistence.ErrNotFound) {
		return nil, err
	}
	for _, l := range locs {
		e, err := st.Entry(l.Process, l.Nonce)
		if err != nil {
			return nil, err
		}
		if len(e.Message) > 0 {
			return ans104.Parse(e.Message, ans104.Limits{})
		}
	}
	return nil, fmt.Errorf("%w: item %s is not held by this node", persistence.ErrNotFound, id)
}

// findAnywhere is findItem, then the other members.
func (h *Host) findAnywhere(ctx context.Context, id ans104.ID) (*ans104.DataItem, error) {
	item, err := h.findItem(id)
	if !errors.Is(err, persistence.ErrNotFound) || h.deps.FetchItem == nil {
		return item, err
	}
	raw, ferr := h.deps.FetchItem(ctx, id)
	if ferr != nil {
		if errors.Is(ferr, persistence.ErrNotFound) {
			return nil, err
		}
		return nil, ferr
	}
	return ans104.ParseAndVerify(raw, ans104.Limits{})
}

// FindItem is findItem for the node's gateway routes.
func (h *Host) FindItem(id ans104.ID) (*ans104.DataItem, error) { return h.findItem(id) }
