package arweave

import (
	"context"
	"fmt"
	"sort"

	"github.com/actorweave/actorweave/ans104"
)

// BatchInfo is one Log-Batch item as the gateway lists it.
type BatchInfo struct {
	ID       string
	From, To uint64
	Owner    string
}

// ListBatches returns every Log-Batch item of pid on the gateway, sorted by From-Nonce.
func (g *Gateway) ListBatches(ctx context.Context, pid ans104.ID) ([]BatchInfo, error) {
	txs, err := g.QueryAll(ctx, []TagFilter{{Name: TagType, Values: []string{TypeLogBatch}}, {Name: TagProcess, Values: []string{pid.String()}}})
	if err != nil {
		return nil, err
	}
	out := make([]BatchInfo, 0, len(txs))
	for _, tx := range txs {
		p, from, to, err := BatchRange(tx.Tags)
		if err != nil {
			return nil, fmt.Errorf("arweave: item %s: %w", tx.ID, err)
		}
		if p != pid {
			return nil, fmt.Errorf("arweave: gateway answered batch %s of %s for %s", tx.ID, p, pid)
		}
		out = append(out, BatchInfo{ID: tx.ID, From: from, To: to, Owner: tx.Owner.Address})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From < out[j].From })
	return out, nil
}

// ReadLog reads pid's log from the gateway: every Log-Batch, checked to be contiguous from nonce 0
// with no overlap, each one's bundle verified and split into entries. owner, when not empty, is
// the address that must have signed every batch (the scheduler's).
func (g *Gateway) ReadLog(ctx context.Context, pid ans104.ID, owner string) ([]BatchEntry, []BatchInfo, error) {
	batches, err := g.ListBatches(ctx, pid)
	if err != nil {
		return nil, nil, err
	}
	var out []BatchEntry
	for _, b := range batches {
		if b.From != uint64(len(out)) {
			return nil, batches, fmt.Errorf("arweave: log of %s on the gateway: batch %s covers %d..%d after %d entries (gap or overlap)", pid, b.ID, b.From, b.To, len(out))
		}
		if owner != "" && b.Owner != owner {
			return nil, batches, fmt.Errorf("arweave: batch %s of %s is signed by %s, not %s", b.ID, pid, b.Owner, owner)
		}
		data, err := g.Data(ctx, b.ID)
		if err != nil {
			return nil, batches, err
		}
		es, err := ParseLogBatch(pid, b.From, b.To, data)
		if err != nil {
			return nil, batches, err
		}
		out = append(out, es...)
	}
	return out, batches, nil
}
