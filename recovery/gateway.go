package recovery

import (
	"context"
	"fmt"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
)

// gateway is the Source over an Arweave gateway's GraphQL and data routes.
type gateway struct{ r *arweave.Reader }

// Gateway reads processes back from the gateway r reads.
func Gateway(r *arweave.Reader) Source { return gateway{r: r} }

func (g gateway) Name() string { return g.r.URL() }

func (g gateway) LogBatches(ctx context.Context, pid ans104.ID) ([]BatchRef, error) {
	var refs []BatchRef
	q := arweave.TxQuery{Tags: []arweave.TagFilter{
		{Name: TagType, Values: []string{TypeLogBatch}},
		{Name: "Process", Values: []string{pid.String()}},
	}}
	err := g.r.Transactions(ctx, q, func(tx arweave.Tx) error {
		ref, err := ParseBatchTags(pid, tx.ID, tx.Owner.Address, tx.TagValue)
		if err != nil {
			return err
		}
		refs = append(refs, ref)
		return nil
	})
	return refs, err
}

func (g gateway) Checkpoints(ctx context.Context, pid ans104.ID) ([]CheckpointRef, error) {
	var out []CheckpointRef
	q := arweave.TxQuery{Tags: []arweave.TagFilter{
		{Name: "Type", Values: []string{ans104.KindCheckpoint}},
		{Name: "Process", Values: []string{pid.String()}},
		{Name: "App-Name", Values: []string{AppName}},
	}}
	err := g.r.Transactions(ctx, q, func(tx arweave.Tx) error {
		f := fields(tx)
		cp, err := ans104.AsCheckpoint(&ans104.DataItem{Tags: f.Tags})
		if err != nil {
			return fmt.Errorf("recovery: checkpoint %s on %s: %w", tx.ID, g.r.URL(), err)
		}
		out = append(out, CheckpointRef{Fields: f, Owner: tx.Owner.Address, Checkpoint: cp})
		return nil
	})
	return out, err
}

func (g gateway) Fields(ctx context.Context, id ans104.ID) (*TxFields, error) {
	tx, err := g.r.Transaction(ctx, id.String())
	if err != nil {
		return nil, err
	}
	f := fields(*tx)
	return &f, nil
}

func (g gateway) Data(ctx context.Context, id string) ([]byte, error) { return g.r.Data(ctx, id) }

func fields(tx arweave.Tx) TxFields {
	f := TxFields{ID: tx.ID, Signature: tx.Signature, OwnerKey: tx.Owner.Key, Recipient: tx.Recipient, Anchor: tx.Anchor}
	for _, t := range tx.Tags {
		f.Tags = append(f.Tags, ans104.Tag{Name: t.Name, Value: t.Value})
	}
	return f
}
