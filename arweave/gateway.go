package arweave

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/actorweave/actorweave/ans104"
)

// Gateway reads from an Arweave gateway: GraphQL by tags (paged) and by ids, and raw data.
type Gateway struct {
	URL string
	hc  *http.Client
}

// NewGateway returns a reader of the gateway at url.
func NewGateway(url string) *Gateway {
	return &Gateway{URL: strings.TrimRight(url, "/"), hc: newHTTPClient()}
}

// TagFilter is one GraphQL tag condition: the item has tag Name with one of Values.
type TagFilter struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// Tx is one GraphQL transaction node.
type Tx struct {
	ID    string `json:"id"`
	Owner struct {
		Address string `json:"address"`
	} `json:"owner"`
	Recipient string       `json:"recipient"`
	Tags      []ans104.Tag `json:"tags"`
	Data      struct {
		Size string `json:"size"`
		Type string `json:"type"`
	} `json:"data"`
	Block *struct {
		Height int64 `json:"height"`
	} `json:"block"`
}

// Page is one page of a GraphQL query.
type Page struct {
	Txs     []Tx
	Cursors []string
	HasNext bool
}

const txFields = `id owner{address} recipient tags{name value} data{size type} block{height}`

type gqlEdges struct {
	PageInfo struct {
		HasNextPage bool `json:"hasNextPage"`
	} `json:"pageInfo"`
	Edges []struct {
		Cursor string `json:"cursor"`
		Node   Tx     `json:"node"`
	} `json:"edges"`
}

// graphql posts a query with variables and decodes data.transactions.
func (g *Gateway) graphql(ctx context.Context, query string, vars map[string]any) (*gqlEdges, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	b, err := do(ctx, g.hc, http.MethodPost, g.URL+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	var resp struct {
		Data struct {
			Transactions gqlEdges `json:"transactions"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("arweave: GraphQL answer: %w", err)
	}
	if len(resp.Errors) > 0 {
		return nil, fmt.Errorf("arweave: GraphQL: %s", resp.Errors[0].Message)
	}
	return &resp.Data.Transactions, nil
}

// Query returns one page (up to first, at most 100) of the items matching every tag filter,
// after cursor (empty: from the start).
func (g *Gateway) Query(ctx context.Context, tags []TagFilter, first int, after string) (*Page, error) {
	if first <= 0 || first > 100 {
		first = 100
	}
	q := `query($tags:[TagFilter!],$first:Int,$after:String){transactions(tags:$tags,first:$first,after:$after){pageInfo{hasNextPage} edges{cursor node{` + txFields + `}}}}`
	vars := map[string]any{"tags": tags, "first": first}
	if after != "" {
		vars["after"] = after
	}
	e, err := g.graphql(ctx, q, vars)
	if err != nil {
		return nil, err
	}
	p := &Page{HasNext: e.PageInfo.HasNextPage}
	for _, ed := range e.Edges {
		p.Txs = append(p.Txs, ed.Node)
		p.Cursors = append(p.Cursors, ed.Cursor)
	}
	return p, nil
}

// QueryAll pages through every item matching the tag filters.
func (g *Gateway) QueryAll(ctx context.Context, tags []TagFilter) ([]Tx, error) {
	var out []Tx
	after := ""
	for {
		p, err := g.Query(ctx, tags, 100, after)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Txs...)
		if !p.HasNext || len(p.Txs) == 0 {
			return out, nil
		}
		after = p.Cursors[len(p.Cursors)-1]
	}
}

// ByIDs returns the items the gateway knows among ids (GraphQL transactions(ids:), 100 per query).
func (g *Gateway) ByIDs(ctx context.Context, ids []ans104.ID) ([]Tx, error) {
	var out []Tx
	q := `query($ids:[ID!],$first:Int){transactions(ids:$ids,first:$first){pageInfo{hasNextPage} edges{cursor node{` + txFields + `}}}}`
	for i := 0; i < len(ids); i += 100 {
		chunk := ids[i:min(i+100, len(ids))]
		ss := make([]string, len(chunk))
		for j, id := range chunk {
			ss[j] = id.String()
		}
		e, err := g.graphql(ctx, q, map[string]any{"ids": ss, "first": 100})
		if err != nil {
			return nil, err
		}
		for _, ed := range e.Edges {
			out = append(out, ed.Node)
		}
	}
	return out, nil
}

// Have returns the subset of ids the gateway knows.
func (g *Gateway) Have(ctx context.Context, ids []ans104.ID) (map[ans104.ID]bool, error) {
	txs, err := g.ByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	want := make(map[string]ans104.ID, len(ids))
	for _, id := range ids {
		want[id.String()] = id
	}
	have := map[ans104.ID]bool{}
	for _, t := range txs {
		if id, ok := want[t.ID]; ok {
			have[id] = true
		}
	}
	return have, nil
}

// Data returns the raw data of an item or transaction (GET /{id}).
func (g *Gateway) Data(ctx context.Context, id string) ([]byte, error) {
	return do(ctx, g.hc, http.MethodGet, g.URL+"/"+id, "", nil)
}
