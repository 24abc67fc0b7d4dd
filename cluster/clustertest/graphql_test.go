package clustertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/cluster/clustertest"
	"github.com/actorweave/actorweave/internal/testutil"
)

type gqlPage struct {
	ids     []string
	cursors []string
	more    bool
	errs    []string
}

// gqlTransactions runs one transactions query by tag against url.
func gqlTransactions(ctx context.Context, url, tag, value string, first int, after, sort string) (gqlPage, error) {
	q := `query($tags: [TagFilter!], $first: Int, $after: String, $sort: SortOrder) {
  transactions(tags: $tags, first: $first, after: $after, sort: $sort) {
    pageInfo { hasNextPage }
    edges { cursor node { id tags { name value } } }
  }
}`
	vars := map[string]any{"tags": []map[string]any{{"name": tag, "values": []string{value}}}, "first": first, "sort": sort}
	if after != "" {
		vars["after"] = after
	}
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", bytes.NewReader(body))
	if err != nil {
		return gqlPage{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return gqlPage{}, err
	}
	defer resp.Body.Close()
	var out struct {
		Data *struct {
			Transactions struct {
				PageInfo struct {
					HasNextPage bool `json:"hasNextPage"`
				} `json:"pageInfo"`
				Edges []struct {
					Cursor string `json:"cursor"`
					Node   struct {
						ID string `json:"id"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"transactions"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
		Error string `json:"error"` // a request refused as a whole (not a GraphQL answer)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return gqlPage{}, fmt.Errorf("%s: %w", resp.Status, err)
	}
	var p gqlPage
	if resp.StatusCode != http.StatusOK {
		p.errs = append(p.errs, resp.Status+": "+out.Error)
	}
	for _, e := range out.Errors {
		p.errs = append(p.errs, e.Message)
	}
	if out.Data != nil {
		p.more = out.Data.Transactions.PageInfo.HasNextPage
		for _, e := range out.Data.Transactions.Edges {
			p.ids = append(p.ids, e.Node.ID)
			p.cursors = append(p.cursors, e.Cursor)
		}
	}
	return p, nil
}

// pageAll pages through a tag query with pages of size first.
func pageAll(t *testing.T, ctx context.Context, url, tag, value string, first int, sort string) (ids []string, pages int) {
	t.Helper()
	after := ""
	for {
		p, err := gqlTransactions(ctx, url, tag, value, first, after, sort)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.errs) > 0 {
			t.Fatalf("%s: GraphQL errors: %v", url, p.errs)
		}
		if len(p.ids) > first {
			t.Fatalf("%s: page of %d items for first %d", url, len(p.ids), first)
		}
		pages++
		ids = append(ids, p.ids...)
		if !p.more {
			return ids, pages
		}
		if len(p.ids) == 0 {
			t.Fatalf("%s: empty page says it has a next one", url)
		}
		after = p.cursors[len(p.cursors)-1]
	}
}

// TestGraphQLAcrossMembers: items with a tag are stored on three different members (each process
// item on its owner); a transactions(tags) query through any member returns all of them, once
// each, in the same order, and paging with first/after walks the same sequence from any member in
// either sort order. A member that does not answer makes the query fail with an error naming it,
// never a silently partial page.
func TestGraphQLAcrossMembers(t *testing.T) {
	t.Parallel()
	wasm := testutil.Module(t, "aoslike")
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	urls := c.URLs()
	cl := client.New(urls[0], user)
	mod, err := cl.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	run := ans104.EncodeB64(client.RandomAnchor())
	var want []string
	for i := 0; i < 10; i++ {
		pid, err := client.New(urls[i%3], user).Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Test-Run", Value: run}, {Name: "Name", Value: fmt.Sprint("g", i)}})
		if err != nil {
			t.Fatalf("spawn %d: %v", i, err)
		}
		want = append(want, pid.String())
	}
	// The items are spread: no single member holds them all (each store's own index).
	st, err := c.Running()[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Members {
		if m.Owned == len(want) {
			t.Fatalf("member %s owns every process: the test needs them spread", m.Address)
		}
	}
	sorted := slices.Clone(want)
	slices.Sort(sorted)
	var ref []string
	for _, u := range urls {
		for _, first := range []int{3, 4, 100} {
			asc, pages := pageAll(t, ctx, u, "Test-Run", run, first, "HEIGHT_ASC")
			got := slices.Clone(asc)
			slices.Sort(got)
			if !slices.Equal(got, sorted) {
				t.Fatalf("%s first=%d: %d ids %v, want the %d spawned %v", u, first, len(asc), asc, len(want), want)
			}
			if ref == nil {
				ref = asc
			} else if !slices.Equal(asc, ref) {
				t.Fatalf("%s first=%d: order %v differs from %v", u, first, asc, ref)
			}
			if want := (len(sorted) + first - 1) / first; pages != want && pages != want+1 {
				t.Fatalf("%s first=%d: %d pages", u, first, pages)
			}
			desc, _ := pageAll(t, ctx, u, "Test-Run", run, first, "HEIGHT_DESC")
			rev := slices.Clone(ref)
			slices.Reverse(rev)
			if !slices.Equal(desc, rev) {
				t.Fatalf("%s first=%d: descending %v is not the reverse of %v", u, first, desc, ref)
			}
		}
	}
	t.Logf("%d items on 3 members: the same order from every member, paged by 3, 4 and 100 both ways", len(want))

	// A member that cannot answer: the query fails and names it (until membership drops the member).
	victim := c.Running()[2]
	victim.Kill()
	began := time.Now()
	p, err := gqlTransactions(ctx, urls[0], "Test-Run", run, 100, "", "HEIGHT_ASC")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.errs) == 0 {
		t.Fatalf("a query with a dead member answered %d of %d items and no error", len(p.ids), len(want))
	}
	if len(p.ids) != 0 || !strings.Contains(strings.Join(p.errs, " "), victim.Remote) {
		t.Fatalf("dead member: %d items, errors %v after %v (want none, and the error naming %s)", len(p.ids), p.errs, time.Since(began), victim.Remote)
	}
	t.Logf("with a member killed, answered in %v: %v", time.Since(began).Round(time.Millisecond), p.errs)
}
