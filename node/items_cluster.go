package node

import (
	"context"
	"errors"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	"github.com/actorweave/actorweave/cluster/items"
)

// QueryItems is api.Backend's: by ids (each found wherever it is held: Item asks the members), or
// by tags and owners, merged over every member of the view (cluster/items.Query).
func (b *backend) QueryItems(ctx context.Context, q api.ItemQuery) (*api.ItemPage, error) {
	if b.n.provider == nil {
		return b.localQueryItems(ctx, q)
	}
	p, err := items.Query(ctx, b.n.host.Members().View(), b.n.host.Forwarder(), b.localQueryItems, q)
	if pe := (*items.PartialError)(nil); errors.As(err, &pe) {
		return nil, &classified{err: err, kind: api.ErrUnavailable}
	}
	return p, err
}

// publishToMembers copies a published item to every other member (cluster/items.Publish); a member
// that missed it fetches it on first use, so a miss is logged, not returned.
func (n *Node) publishToMembers(ctx context.Context, item *ans104.DataItem, height uint64, ts int64) error {
	if err := items.Publish(ctx, n.host.Members().View(), n.host.Forwarder(), item, height, ts); err != nil {
		// The item is durable here; members that missed it fetch it on first use.
		n.log.Warn("published item not copied to every member", "item", item.ID(), "err", err)
	}
	return nil
}

// serveItems registers the member sides of the items ops, answered from this node's store.
func (b *backend) serveItems() {
	items.Serve(b.n.host.Forwarder(), items.Local{Query: b.localQueryItems, Store: b.storeItem,
		Item: func(_ context.Context, id ans104.ID) (*api.StoredItem, error) { return b.localItem(id) }})
}
