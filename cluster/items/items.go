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
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clusterpb"
)

// The ops' wire names predate this package (they were node ops) and are kept so that members of
// different versions understand each other.
const (
	// OpItems answers one member's part of a transactions query from its own store (never further).
	OpItems = "node.items"
	// OpPublish stores a published item on the member that receives it.
	OpPublish = "node.publish"
)

// Local is the member's own store, as the API sees it.
type Local struct {
	// Query answers a transactions query from this member's store alone.
	Query func(ctx context.Context, q api.ItemQuery) (*api.ItemPage, error)
	// Store keeps an item with its block height and storage time (a copy keeps the publisher's).
	Store func(ctx context.Context, item *ans104.DataItem, height uint64, ts int64) error
}

// Serve registers the member sides of Query (OpItems) and Publish (OpPublish) on f.
func Serve(f *awcluster.Forwarder, local Local) {
	f.Handle(OpItems, func(ctx context.Context, body []byte) (proto.Message, error) { return serveItems(ctx, local, body) })
	f.Handle(OpPublish, func(ctx context.Context, body []byte) (proto.Message, error) { return servePublish(ctx, local, body) })
}

// Publish stores a published item on every other member of v, so that a module published through
// any node can be spawned through any other. It returns the members that missed it, joined (the
// item is durable on the caller, and a member that missed it, or joins later, fetches it on first
// use).
func Publish(ctx context.Context, v *awcluster.View, f *awcluster.Forwarder, item *ans104.DataItem, height uint64, ts int64) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, m := range v.Members {
		if v.IsSelf(m) {
			continue
		}
		wg.Add(1)
		go func(m awcluster.Member) {
			defer wg.Done()
			if err := f.Call(ctx, m, OpPublish, &clusterpb.PublishRequest{Raw: item.Bytes(), BlockHeight: height, Timestamp: ts}, nil); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("publish to %s: %w", m.Address, err))
				mu.Unlock()
			}
		}(m)
	}
	wg.Wait()
	return errors.Join(errs...)
}

func servePublish(ctx context.Context, local Local, body []byte) (proto.Message, error) {
	var req clusterpb.PublishRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	item, err := ans104.ParseAndVerify(req.Raw, ans104.Limits{})
	if err != nil {
		return nil, fmt.Errorf("%w: published item: %v", api.ErrBadRequest, err)
	}
	return &clusterpb.Empty{}, local.Store(ctx, item, req.BlockHeight, req.Timestamp)
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
	type answer struct {
		m    awcluster.Member
		page *api.ItemPage
		err  error
	}
	answers := make([]answer, len(v.Members))
	var wg sync.WaitGroup
	for i, m := range v.Members {
		answers[i].m = m
		if v.IsSelf(m) {
			answers[i].page, answers[i].err = local(ctx, q)
			continue
		}
		wg.Add(1)
		go func(a *answer) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, MemberQueryTimeout)
			defer cancel()
			a.page, a.err = remoteQuery(cctx, f, a.m, q)
		}(&answers[i])
	}
	wg.Wait()
	var failed []string
	var pages []*api.ItemPage
	for _, a := range answers {
		switch {
		case a.err == nil:
			pages = append(pages, a.page)
		case errors.Is(a.err, api.ErrBadRequest) || errors.Is(a.err, api.ErrUnsupported):
			return nil, a.err // the query itself is wrong: every member says so
		default:
			failed = append(failed, fmt.Sprintf("%s (%s): %v", a.m.Name, a.m.Address, a.err))
		}
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

func remoteQuery(ctx context.Context, f *awcluster.Forwarder, m awcluster.Member, q api.ItemQuery) (*api.ItemPage, error) {
	var w clusterpb.ItemsPage
	if err := f.Call(ctx, m, OpItems, wireQuery(q), &w); err != nil {
		return nil, err
	}
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

// serveItems is the member side of remoteQuery.
func serveItems(ctx context.Context, local Local, body []byte) (proto.Message, error) {
	var w clusterpb.ItemsQuery
	if err := proto.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: items query: %v", api.ErrBadRequest, err)
	}
	q, err := queryOf(&w)
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
}
