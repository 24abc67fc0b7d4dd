package recovery

import (
	"context"
	"fmt"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
)

// gateway is the Source over an Arweave gateway's GraphQL and data routes.
type gateway struct {
	g        *arweave.Gateway
	r        arweave.Retry
	maxBytes int
}

// Gateway reads processes back from g, retrying each read as r says; maxDataBytes bounds one
// download (0: no bound beyond the reader's own).
func Gateway(g *arweave.Gateway, r arweave.Retry, maxDataBytes int) Source {
	return gateway{g: g, r: r, maxBytes: maxDataBytes}
}

func (s gateway) Name() string { return s.g.URL }

func (s gateway) LogBatches(ctx context.Context, pid ans104.ID) ([]BatchRef, error) {
	var refs []BatchRef
	tags := []arweave.TagFilter{{Name: arweave.TagType, Values: []string{arweave.TypeLogBatch}}, {Name: arweave.TagProcess, Values: []string{pid.String()}}}
	err := s.g.EachSigned(ctx, s.r, tags, nil, func(tx arweave.SignedTx) error {
		ref, err := ParseBatchTags(pid, tx.ID, tx.Owner.Address, ans104.Tags(tx.Tags).Value)
		if err != nil {
			return err
		}
		refs = append(refs, ref)
		return nil
	})
	return refs, err
}

func (s gateway) Checkpoints(ctx context.Context, pid ans104.ID) ([]CheckpointRef, error) {
	var out []CheckpointRef
	tags := []arweave.TagFilter{{Name: "Type", Values: []string{ans104.KindCheckpoint}}, {Name: arweave.TagProcess, Values: []string{pid.String()}},
		{Name: arweave.TagAppName, Values: []string{arweave.AppName}}}
	err := s.g.EachSigned(ctx, s.r, tags, nil, func(tx arweave.SignedTx) error {
		f := fields(tx)
		cp, err := ans104.AsCheckpoint(&ans104.DataItem{Tags: f.Tags})
		if err != nil {
			return fmt.Errorf("recovery: checkpoint %s on %s: %w", tx.ID, s.g.URL, err)
		}
		out = append(out, CheckpointRef{Fields: f, Owner: tx.Owner.Address, Checkpoint: cp})
		return nil
	})
	return out, err
}

func (s gateway) Fields(ctx context.Context, id ans104.ID) (*TxFields, error) {
	tx, err := s.g.Signed(ctx, s.r, id.String())
	if err != nil {
		return nil, err
	}
	f := fields(*tx)
	return &f, nil
}

func (s gateway) Data(ctx context.Context, id string) ([]byte, error) {
	return s.g.ReadData(ctx, s.r, id, s.maxBytes)
}

func fields(tx arweave.SignedTx) TxFields {
	return TxFields{ID: tx.ID, Signature: tx.Signature, OwnerKey: tx.Owner.Key, Recipient: tx.Recipient, Anchor: tx.Anchor, Tags: tx.Tags}
}

// Delegates reads scheduler's Scheduler-Delegation items; an item whose signature does not verify
// over the gateway's fields, or whose signer is not scheduler, is ignored: only the Scheduler can
// delegate.
func (s gateway) Delegates(ctx context.Context, scheduler string) ([]string, error) {
	var out []string
	tags := []arweave.TagFilter{{Name: arweave.TagType, Values: []string{arweave.TypeDelegation}},
		{Name: arweave.TagDelegator, Values: []string{scheduler}}, {Name: arweave.TagAppName, Values: []string{arweave.AppName}}}
	var txs []arweave.SignedTx
	if err := s.g.EachSigned(ctx, s.r, tags, nil, func(tx arweave.SignedTx) error {
		if tx.Owner.Address == scheduler {
			txs = append(txs, tx)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, tx := range txs {
		id, err := ans104.ParseID(tx.ID)
		if err != nil {
			continue
		}
		data, err := s.Data(ctx, tx.ID)
		if err != nil {
			return nil, err
		}
		rb, err := RebuildItem(id, fields(tx), data)
		if err != nil || !rb.Verified {
			continue
		}
		if _, ds, err := arweave.Delegates(rb.Item); err == nil && rb.Item.OwnerAddress() == scheduler {
			out = append(out, ds...)
		}
	}
	return out, nil
}
