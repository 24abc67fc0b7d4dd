package items

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clusterpb"
	"github.com/actorweave/actorweave/persistence"
)

// The ops' wire names predate this package (they were node ops) and are kept so that members of
// different versions understand each other.
const (
	// OpItems answers one member's part of a transactions query from its own store (never further).
	OpItems = "node.items"
	// OpPublish stores a published item on the member that receives it.
	OpPublish = "node.publish"
	// OpItem answers one item from the receiving member's store (Fetch).
	OpItem = "node.item"
)

// Local is the member's own store, as the API sees it.
type Local struct {
	// Query answers a transactions query from this member's store alone.
	Query func(ctx context.Context, q api.ItemQuery) (*api.ItemPage, error)
	// Store keeps an item with its block height and storage time (a copy keeps the publisher's).
	Store func(ctx context.Context, item *ans104.DataItem, height uint64, ts int64) error
	// Item is one item this member holds (api.ErrNotFound or persistence.ErrNotFound if none).
	Item func(ctx context.Context, id ans104.ID) (*api.StoredItem, error)
}

// The three operations, declared once: each member answers from its own store and never asks
// further. Callers that only send (Publish, Fetch) declare them with an empty Local.

func queryOp(local Local) *awcluster.Op[*clusterpb.ItemsQuery, *clusterpb.ItemsPage] {
	return &awcluster.Op[*clusterpb.ItemsQuery, *clusterpb.ItemsPage]{Name: OpItems,
		Serve: func(ctx context.Context, w *clusterpb.ItemsQuery) (*clusterpb.ItemsPage, error) {
			q, err := queryOf(w)
			if err != nil {
				return nil, err
			}
			p, err := local.Query(ctx, q)
			if err != nil {
				return nil, err
			}
			out := &clusterpb.ItemsPage{HasMore: p.HasMore, Items: make([]*clusterpb.PagedItem, len(p.Items))}
			for i, it := range p.Items {
				out.Items[i] = &clusterpb.PagedItem{Raw: it.Item.Bytes(), Cursor: p.Cursors[i], BlockHeight: it.BlockHeight, Timestamp: it.Timestamp}
			}
			return out, nil
		}}
}

func publishOp(local Local) *awcluster.Op[*clusterpb.PublishRequest, *clusterpb.Empty] {
	return &awcluster.Op[*clusterpb.PublishRequest, *clusterpb.Empty]{Name: OpPublish,
		Serve: func(ctx context.Context, req *clusterpb.PublishRequest) (*clusterpb.Empty, error) {
			item, err := ans104.ParseAndVerify(req.Raw, ans104.Limits{})
			if err != nil {
				return nil, fmt.Errorf("%w: published item: %v", api.ErrBadRequest, err)
			}
			return &clusterpb.Empty{}, local.Store(ctx, item, req.BlockHeight, req.Timestamp)
		}}
}

func itemOp(local Local) *awcluster.Op[*clusterpb.ItemRequest, *clusterpb.ItemReply] {
	return &awcluster.Op[*clusterpb.ItemRequest, *clusterpb.ItemReply]{Name: OpItem,
		Serve: func(ctx context.Context, req *clusterpb.ItemRequest) (*clusterpb.ItemReply, error) {
			var id ans104.ID
			if len(req.Id) != len(id) {
				return nil, fmt.Errorf("%w: item id of %d bytes", api.ErrBadRequest, len(req.Id))
			}
			copy(id[:], req.Id)
			it, err := local.Item(ctx, id)
			if err != nil {
				return nil, err
			}
			return &clusterpb.ItemReply{Raw: it.Item.Bytes(), BlockHeight: it.BlockHeight, Timestamp: it.Timestamp}, nil
		}}
}

// Serve registers the member sides of Query, Publish and Fetch on f.
func Serve(f *awcluster.Forwarder, local Local) {
	queryOp(local).Register(f)
	publishOp(local).Register(f)
	itemOp(local).Register(f)
}

// Publish stores a published item on every other member of v, so that a module published through
// any node can be spawned through any other. It returns the members that missed it, joined (the
// item is durable on the caller, and a member that missed it, or joins later, fetches it on first
// use).
func Publish(ctx context.Context, v *awcluster.View, f *awcluster.Forwarder, item *ans104.DataItem, height uint64, ts int64) error {
	var errs []error
	for _, a := range publishOp(Local{}).Others(ctx, v, f, &clusterpb.PublishRequest{Raw: item.Bytes(), BlockHeight: height, Timestamp: ts}, 0) {
		if a.Err != nil {
			errs = append(errs, fmt.Errorf("publish to %s: %w", a.Member.Address, a.Err))
		}
	}
	return errors.Join(errs...)
}

// Fetch asks every other member of v for an item at once and returns the first copy found (a
// module published through another member, or a message one of them stored). Nobody holding it is
// persistence.ErrNotFound; a member that could not be asked, when nobody else holds it, is its error.
func Fetch(ctx context.Context, v *awcluster.View, f *awcluster.Forwarder, id ans104.ID) ([]byte, error) {
	notHeld := func(err error) bool {
		return errors.Is(err, persistence.ErrNotFound) || errors.Is(err, api.ErrNotFound)
	}
	r, ok, err := itemOp(Local{}).Any(ctx, v, f, &clusterpb.ItemRequest{Id: id[:]}, nil, notHeld)
	switch {
	case ok:
		return r.Raw, nil
	case err != nil:
		return nil, err
	}
	return nil, fmt.Errorf("%w: item %s is held by no member", persistence.ErrNotFound, id)
}

// GraphQL transactions by tags or owners across the cluster. Each member indexes the items it
// stored (modules, processes, pushes to wallets, copies it fetched), so a query answered from one
// store misses what the others hold. The receiving node asks every member of its view for the
// same page (same filters, same After, same First), merges the answers by cursor and keeps the
// First first. A cursor is the item's storage time and id (persistence.QueryItems), the same
// ordering on every member, so the merged page is exactly the page one store holding the union
// would answer, and its last cursor, passed back as After, resumes the merge where it stopped on
// every member at once: paging is stable.
//
// Duplicates: an item held by several members appears once per page, under its smallest cursor
// (the first in the page's order). A module is copied to every member with its original storage
// time, so it has one cursor everywhere; a copy a member fetched later has its own storage time,
// and may show again on a later page under that later cursor (documented, not hidden).
//
// A member that does not answer fails the query with an error naming it (GraphQL errors, data
// null): partial results would look complete to the client, which cannot tell.

// MemberQueryTimeout bounds each member's answer: a dead member fails the query in this time,
// not at the request's own bound.
const MemberQueryTimeout = 10 * time.Second

// PartialError: members of the view did not answer a query, so its results would be partial.
type PartialError struct {
	Failed []string // "name (address): error" of each member that did not answer
	Of     int      // members asked, this one included
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("transactions query: %d of %d members did not answer, so the results would be partial: %s",
		len(e.Failed), e.Of, strings.Join(e.Failed, "; "))
}

// Query answers q over every member of v: by ids (each looked up by the caller: local answers
// them) or with v alone, from local; else every member's page of q, merged (Merge). A query every
// member refuses as wrong (api.ErrBadRequest, api.ErrUnsupported) returns that error; any other
// failure of a member fails the whole query with a *PartialError.
func Query(ctx context.Context, v *awcluster.View, f *awcluster.Forwarder, local func(context.Context, api.ItemQuery) (*api.ItemPage, error), q api.ItemQuery) (*api.ItemPage, error) {
	if len(q.IDs) > 0 || len(v.Members) < 2 {
		return local(ctx, q)
	}
	// The others are asked while this member's store answers; its page is used as the store gives
	// it, not through the wire form the others' pages take (which would parse every item again).
	others := make(chan []awcluster.Answer[*clusterpb.ItemsPage], 1) // Others ends by ctx and each member's bound
	go func() { others <- queryOp(Local{}).Others(ctx, v, f, wireQuery(q), MemberQueryTimeout) }()
	mine, err := local(ctx, q)
	if err != nil && (errors.Is(err, api.ErrBadRequest) || errors.Is(err, api.ErrUnsupported)) {
		return nil, err
	}
	var failed []string
	var pages []*api.ItemPage
	if err != nil {
		failed = append(failed, fmt.Sprintf("%s (%s): %v", v.Self.Name, v.Self.Address, err))
	} else {
		pages = append(pages, mine)
	}
	for _, a := range <-others {
		if a.Err == nil {
			var page *api.ItemPage
			if page, a.Err = pageOf(a.Member, a.Rep); a.Err == nil {
				pages = append(pages, page)
				continue
			}
		}
		if errors.Is(a.Err, api.ErrBadRequest) || errors.Is(a.Err, api.ErrUnsupported) {
			return nil, a.Err // the query itself is wrong: every member says so
		}
		failed = append(failed, fmt.Sprintf("%s (%s): %v", a.Member.Name, a.Member.Address, a.Err))
	}
	if len(failed) > 0 {
		return nil, &PartialError{Failed: failed, Of: len(v.Members)}
	}
	return Merge(pages, q.First, q.Desc), nil
}

// Merge merges members' pages of one query: by cursor (descending for HEIGHT_DESC), one entry per
// id (its first), at most first entries. HasMore when an entry was left out or a member has more.
func Merge(pages []*api.ItemPage, first int, desc bool) *api.ItemPage {
	type hit struct {
		it     api.StoredItem
		cursor string
	}
	var hits []hit
	more := false
	for _, p := range pages {
		more = more || p.HasMore
		for i := range p.Items {
			hits = append(hits, hit{p.Items[i], p.Cursors[i]})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		c := cursorCompare(hits[i].cursor, hits[j].cursor)
		if desc {
			return c > 0
		}
		return c < 0
	})
	out := &api.ItemPage{}
	seen := map[ans104.ID]bool{}
	for _, h := range hits {
		id := h.it.Item.ID()
		if seen[id] {
			continue
		}
		seen[id] = true
		if len(out.Items) == first {
			more = true
			break
		}
		out.Items = append(out.Items, h.it)
		out.Cursors = append(out.Cursors, h.cursor)
	}
	out.HasMore = more
	return out
}

// cursorCompare orders two cursors as the stores do: by their bytes (storage time, then id), not
// by their base64url text, which sorts differently.
func cursorCompare(a, b string) int {
	ab, errA := base64.RawURLEncoding.DecodeString(a)
	bb, errB := base64.RawURLEncoding.DecodeString(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	return bytes.Compare(ab, bb)
}

// pageOf reads a member's page off the wire.
func pageOf(m awcluster.Member, w *clusterpb.ItemsPage) (*api.ItemPage, error) {
	out := &api.ItemPage{HasMore: w.HasMore}
	for _, it := range w.Items {
		item, err := ans104.Parse(it.Raw, ans104.Limits{})
		if err != nil {
			return nil, fmt.Errorf("item from %s: %w", m.Address, err)
		}
		out.Items = append(out.Items, api.StoredItem{Item: item, BlockHeight: it.BlockHeight, Timestamp: it.Timestamp})
		out.Cursors = append(out.Cursors, it.Cursor)
	}
	return out, nil
}

// wireQuery is q on the wire (without its ids: by ids, the asking member looks items up itself).
func wireQuery(q api.ItemQuery) *clusterpb.ItemsQuery {
	w := &clusterpb.ItemsQuery{Owners: q.Owners, Recipients: q.Recipients, First: int64(q.First), After: q.After, Desc: q.Desc}
	for _, t := range q.Tags {
		w.Tags = append(w.Tags, &clusterpb.TagFilter{Name: t.Name, Values: t.Values})
	}
	return w
}

// queryOf reads a query off the wire.
func queryOf(w *clusterpb.ItemsQuery) (api.ItemQuery, error) {
	if w.First < 0 || w.First > math.MaxInt32 {
		return api.ItemQuery{}, fmt.Errorf("%w: items query: first %d", api.ErrBadRequest, w.First)
	}
	q := api.ItemQuery{Owners: w.Owners, Recipients: w.Recipients, First: int(w.First), After: w.After, Desc: w.Desc}
	for _, t := range w.Tags {
		q.Tags = append(q.Tags, api.TagFilter{Name: t.Name, Values: t.Values})
	}
	return q, nil
}
