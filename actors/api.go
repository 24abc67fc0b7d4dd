package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/persistence"
)

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
