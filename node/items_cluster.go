package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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

// memberQueryTimeout bounds each member's answer: a dead member fails the query in this time,
// not at the request's own bound.
const memberQueryTimeout = 10 * time.Second

// opItems answers one member's part of a transactions query from its own store (never further).
const opItems = "node.items"

// wireItemPage is a member's answer (JSON in a clusterpb.ReadRequest body, like opRead's).
type wireItemPage struct {
	Items   []wireStoredItem
	HasMore bool
}

type wireStoredItem struct {
	Raw         []byte
	Cursor      string
	BlockHeight uint64
	Timestamp   int64
}

// QueryItems is api.Backend's: by ids (each found wherever it is held: Item asks the members), or
// by tags and owners, merged over every member of the view.
func (b *backend) QueryItems(ctx context.Context, q api.ItemQuery) (*api.ItemPage, error) {
	if len(q.IDs) > 0 || b.n.provider == nil {
		return b.localQueryItems(ctx, q)
	}
	v := b.n.host.Members().View()
	if len(v.Members) < 2 {
		return b.localQueryItems(ctx, q)
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
			answers[i].page, answers[i].err = b.localQueryItems(ctx, q)
			continue
		}
		wg.Add(1)
		go func(a *answer) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, memberQueryTimeout)
			defer cancel()
			a.page, a.err = b.remoteQueryItems(cctx, a.m, q)
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
		return nil, &classified{err: fmt.Errorf("transactions query: %d of %d members did not answer, so the results would be partial: %s",
			len(failed), len(v.Members), strings.Join(failed, "; ")), kind: api.ErrUnavailable}
	}
	return mergeItemPages(pages, q.First, q.Desc), nil
}

// mergeItemPages merges members' pages of one query: by cursor (descending for HEIGHT_DESC), one
// entry per id (its first), at most first entries. HasMore when an entry was left out or a
// member has more.
func mergeItemPages(pages []*api.ItemPage, first int, desc bool) *api.ItemPage {
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

func (b *backend) remoteQueryItems(ctx context.Context, m awcluster.Member, q api.ItemQuery) (*api.ItemPage, error) {
	args, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	var reply clusterpb.ReadRequest
	if err := b.n.host.Forwarder().Call(ctx, m, opItems, &clusterpb.ReadRequest{Method: "Items", Args: args}, &reply); err != nil {
		return nil, err
	}
	var w wireItemPage
	if err := json.Unmarshal(reply.Args, &w); err != nil {
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

// serveItems is the member side of remoteQueryItems.
func (b *backend) serveItems(ctx context.Context, body []byte) (proto.Message, error) {
	var req clusterpb.ReadRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	var q api.ItemQuery
	if err := json.Unmarshal(req.Args, &q); err != nil {
		return nil, fmt.Errorf("%w: items query: %v", api.ErrBadRequest, err)
	}
	q.IDs = nil // by ids, the asking node looks items up itself
	p, err := b.localQueryItems(ctx, q)
	if err != nil {
		return nil, err
	}
	w := wireItemPage{HasMore: p.HasMore}
	for i, it := range p.Items {
		w.Items = append(w.Items, wireStoredItem{Raw: it.Item.Bytes(), Cursor: p.Cursors[i], BlockHeight: it.BlockHeight, Timestamp: it.Timestamp})
	}
	js, err := json.Marshal(w)
	return &clusterpb.ReadRequest{Args: js}, err
}
