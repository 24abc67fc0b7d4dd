package items

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/persistence"
)

// A member's store for these tests: a Pebble store on disk, answered as the node answers from its
// own (persistence's index, the items parsed back).
type store struct{ st *persistence.Store }

func openStore(t *testing.T) *store {
	t.Helper()
	st, err := persistence.Open(filepath.Join(t.TempDir(), "pebble"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &store{st}
}

func (s *store) local() Local { return Local{Query: s.query, Store: s.store, Item: s.item} }

func (s *store) item(_ context.Context, id ans104.ID) (*api.StoredItem, error) {
	it, err := s.st.GetItem(id)
	if err != nil {
		return nil, err
	}
	item, err := ans104.Parse(it.Raw, ans104.Limits{})
	if err != nil {
		return nil, err
	}
	return &api.StoredItem{Item: item, BlockHeight: it.BlockHeight, Timestamp: it.Timestamp}, nil
}

func (s *store) store(ctx context.Context, item *ans104.DataItem, height uint64, ts int64) error {
	tags := make([]persistence.Tag, len(item.Tags))
	for i, t := range item.Tags {
		tags[i] = persistence.Tag{Name: t.Name, Value: t.Value}
	}
	return s.st.PutItem(ctx, persistence.Item{ID: item.ID(), Raw: item.Bytes(), Owner: item.OwnerAddress(), Tags: tags, Timestamp: ts, BlockHeight: height})
}

func (s *store) query(_ context.Context, q api.ItemQuery) (*api.ItemPage, error) {
	pq := persistence.ItemQuery{Owners: q.Owners, First: q.First, After: q.After, Desc: q.Desc}
	for _, t := range q.Tags {
		pq.Tags = append(pq.Tags, persistence.TagFilter{Name: t.Name, Values: t.Values})
	}
	if len(pq.Tags) == 0 && len(pq.Owners) == 0 {
		return nil, api.ErrBadRequest
	}
	refs, more, err := s.st.QueryItems(pq)
	if err != nil {
		return nil, err
	}
	out := &api.ItemPage{HasMore: more}
	for _, r := range refs {
		it, err := s.st.GetItem(r.ID)
		if err != nil {
			return nil, err
		}
		item, err := ans104.Parse(it.Raw, ans104.Limits{})
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, api.StoredItem{Item: item, BlockHeight: it.BlockHeight, Timestamp: it.Timestamp})
		out.Cursors = append(out.Cursors, r.Cursor)
	}
	return out, nil
}

// twoMembers is a view of members a (this one) and b, whose side is served by a forwarder on a
// real actor system (the Calls are encoded and decoded as between nodes).
func twoMembers(t *testing.T, b Local) (*awcluster.View, *awcluster.Forwarder) {
	t.Helper()
	system := actor.NewActorSystem()
	// The API's classes cross members as the node's table has them (node.apiWireErrors).
	f, err := awcluster.NewForwarder(system, nil, awcluster.ErrorTable{{Code: "api_bad_request", Err: api.ErrBadRequest},
		{Code: "api_unsupported", Err: api.ErrUnsupported}, {Code: "not_found", Err: persistence.ErrNotFound}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	Serve(f, b)
	a := awcluster.Member{ID: "a-1", Name: "a", Address: "a:1", Capacity: 1}
	return &awcluster.View{Self: a, Members: []awcluster.Member{a, {ID: "b-1", Name: "b", Address: system.Address(), Capacity: 1}}}, f
}

func signed(t *testing.T, s ans104.Signer, tags ...ans104.Tag) *ans104.DataItem {
	t.Helper()
	d := ans104.NewItem(nil, nil, nil, tags)
	if err := d.Sign(s); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPublishAndQuery: an item published through a reaches b's store with a's height and time; a
// query through a then finds each member's own items and the published one once, pages by the
// merged cursor, and a member that cannot answer fails the query instead of shrinking it.
func TestPublishAndQuery(t *testing.T) {
	ctx := context.Background()
	sa, sb := openStore(t), openStore(t)
	v, f := twoMembers(t, sb.local())
	key, _ := ans104.GenerateEd25519Signer()
	kind := ans104.Tag{Name: "Kind", Value: "test"}

	mod := signed(t, key, kind, ans104.Tag{Name: "N", Value: "published"})
	const height, ts = 7, int64(1_000)
	if err := sa.store(ctx, mod, height, ts); err != nil {
		t.Fatal(err)
	}
	if err := Publish(ctx, v, f, mod, height, ts); err != nil {
		t.Fatal(err)
	}
	got, err := sb.st.GetItem(mod.ID())
	if err != nil || got.BlockHeight != height || got.Timestamp != ts {
		t.Fatalf("b holds the published item as %+v (%v), want height %d, time %d", got, err, height, ts)
	}
	// Only on a, then only on b, each stored later than the published one.
	onA := signed(t, key, kind, ans104.Tag{Name: "N", Value: "a"})
	onB := signed(t, key, kind, ans104.Tag{Name: "N", Value: "b"})
	if err := sa.store(ctx, onA, 1, 2_000); err != nil {
		t.Fatal(err)
	}
	if err := sb.store(ctx, onB, 1, 3_000); err != nil {
		t.Fatal(err)
	}

	q := api.ItemQuery{Tags: []api.TagFilter{{Name: "Kind", Values: []string{"test"}}}, First: 2}
	p1, err := Query(ctx, v, f, sa.query, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Items) != 2 || !p1.HasMore || p1.Items[0].Item.ID() != mod.ID() || p1.Items[1].Item.ID() != onA.ID() {
		t.Fatalf("first page: %d items, more %v; want the published item once, then a's", len(p1.Items), p1.HasMore)
	}
	q.After = p1.Cursors[1]
	p2, err := Query(ctx, v, f, sa.query, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Items) != 1 || p2.HasMore || p2.Items[0].Item.ID() != onB.ID() {
		t.Fatalf("second page: %d items, more %v; want b's alone", len(p2.Items), p2.HasMore)
	}

	// A query every member refuses is the caller's error, not a partial answer.
	if _, err := Query(ctx, v, f, sa.query, api.ItemQuery{First: 2}); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("a query without filters: %v, want ErrBadRequest", err)
	}
	// By ids: answered by the caller alone (it looks each id up wherever it is held).
	byIDs := &api.ItemPage{}
	if p, err := Query(ctx, v, f, func(context.Context, api.ItemQuery) (*api.ItemPage, error) { return byIDs, nil },
		api.ItemQuery{IDs: []ans104.ID{onB.ID()}}); err != nil || p != byIDs {
		t.Fatalf("by ids: %v, want the caller's own answer", err)
	}
	// b's store closed: b cannot answer, and the query says so rather than answer a's half.
	sb.st.Close()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = Query(cctx, v, f, sa.query, api.ItemQuery{Tags: q.Tags, First: 10})
	var pe *PartialError
	if !errors.As(err, &pe) || len(pe.Failed) != 1 || pe.Of != 2 {
		t.Fatalf("with b failing: %v, want a PartialError naming b", err)
	}
}

// TestServePublishRefusesForgery: a member stores only an item whose signature verifies.
func TestServePublishRefusesForgery(t *testing.T) {
	ctx := context.Background()
	sb := openStore(t)
	v, f := twoMembers(t, sb.local())
	key, _ := ans104.GenerateEd25519Signer()
	item := ans104.NewItem([]byte("module bytes"), nil, nil, []ans104.Tag{{Name: "Kind", Value: "test"}})
	if err := item.Sign(key); err != nil {
		t.Fatal(err)
	}
	raw := item.Bytes()
	raw[len(raw)-1] ^= 1 // the data: the signature no longer covers it
	forged, err := ans104.Parse(raw, ans104.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Publish(ctx, v, f, forged, 1, 1); !errors.Is(err, api.ErrBadRequest) {
		t.Fatalf("publishing a forged item: %v, want ErrBadRequest from the member", err)
	}
	if _, err := sb.st.GetItem(forged.ID()); !errors.Is(err, persistence.ErrNotFound) {
		t.Fatalf("the forged item was stored: %v", err)
	}
}

// TestFetch: an item only b holds is fetched through a, byte for byte; one nobody holds is
// persistence.ErrNotFound (b's refusal crosses as that, not as a failure to ask).
func TestFetch(t *testing.T) {
	ctx := context.Background()
	sb := openStore(t)
	v, f := twoMembers(t, sb.local())
	key, _ := ans104.GenerateEd25519Signer()
	onB := signed(t, key, ans104.Tag{Name: "N", Value: "b"})
	if err := sb.store(ctx, onB, 1, 1); err != nil {
		t.Fatal(err)
	}
	raw, err := Fetch(ctx, v, f, onB.ID())
	if err != nil || !bytes.Equal(raw, onB.Bytes()) {
		t.Fatalf("fetching b's item: %d bytes, %v; want its %d bytes", len(raw), err, len(onB.Bytes()))
	}
	absent := signed(t, key, ans104.Tag{Name: "N", Value: "nowhere"})
	if _, err := Fetch(ctx, v, f, absent.ID()); !errors.Is(err, persistence.ErrNotFound) {
		t.Fatalf("fetching an item nobody holds: %v, want persistence.ErrNotFound", err)
	}
}
