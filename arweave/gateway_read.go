package arweave

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/actorweave/actorweave/ans104"
)

// What recovery and `actorweave verify` read, on top of gateway.go: every GraphQL field needed to
// rebuild a signed item (signature, owner key, anchor), paging with a callback so a long listing is
// not held twice, and retries, because a recovery reads hundreds of items and one gateway hiccup
// must not fail it.

// Retry says how often a failed read is tried again: network errors, 429 and 5xx are retried; any
// other answer (404, 400) is final.
type Retry struct {
	Attempts int           // total tries, at least 1
	Backoff  time.Duration // before the second try; doubles up to 8× per try
}

// DefaultRetry: 5 tries from 250 ms (about 7 s in all before giving up).
var DefaultRetry = Retry{Attempts: 5, Backoff: 250 * time.Millisecond}

// ReadError is a read that failed for good: which gateway, what was read, after how many tries.
type ReadError struct {
	Gateway  string
	What     string
	Attempts int
	Err      error
}

func (e *ReadError) Error() string {
	s := fmt.Sprintf("arweave: gateway %s: %s", e.Gateway, e.What)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (%d tries)", e.Attempts)
	}
	return s + ": " + e.Err.Error()
}

func (e *ReadError) Unwrap() error { return e.Err }

// IsNotFound reports whether err is a gateway's 404.
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}

func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code == http.StatusTooManyRequests || se.Code >= 500
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// retried runs fn until it succeeds, fails for good, or r's tries are used up.
func retried[T any](ctx context.Context, g *Gateway, r Retry, what string, fn func() (T, error)) (T, error) {
	if r.Attempts < 1 {
		r.Attempts = 1
	}
	wait := r.Backoff
	var zero T
	for i := 1; ; i++ {
		v, err := fn()
		if err == nil {
			return v, nil
		}
		if i >= r.Attempts || !retryable(err) || ctx.Err() != nil {
			return zero, &ReadError{Gateway: g.URL, What: what, Attempts: i, Err: err}
		}
		select {
		case <-ctx.Done():
			return zero, &ReadError{Gateway: g.URL, What: what, Attempts: i, Err: err}
		case <-time.After(wait):
		}
		if wait < 8*r.Backoff {
			wait *= 2
		}
	}
}

// ReadData is Data with retries and a size bound.
func (g *Gateway) ReadData(ctx context.Context, r Retry, id string, maxBytes int) ([]byte, error) {
	b, err := retried(ctx, g, r, "data of "+id, func() ([]byte, error) { return g.Data(ctx, id) })
	if err == nil && maxBytes > 0 && len(b) > maxBytes {
		return nil, &ReadError{Gateway: g.URL, What: "data of " + id, Attempts: 1, Err: fmt.Errorf("%d bytes, the limit is %d", len(b), maxBytes)}
	}
	return b, err
}

// SignedTx is a GraphQL node with what it takes to rebuild the signed item: signature, owner key,
// anchor (arlocal returns "" for it), recipient and tags in signed order.
type SignedTx struct {
	ID        string `json:"id"`
	Signature string `json:"signature"`
	Anchor    string `json:"anchor"`
	Recipient string `json:"recipient"`
	Owner     struct {
		Address string `json:"address"`
		Key     string `json:"key"`
	} `json:"owner"`
	Tags []ans104.Tag `json:"tags"`
}

const signedTxFields = `id signature anchor recipient owner{address key} tags{name value}`

// EachSigned visits every item matching the tag filters (tags non-empty) or the ids, page by page,
// with retries per page; it stops at fn's first error and returns it.
func (g *Gateway) EachSigned(ctx context.Context, r Retry, tags []TagFilter, ids []string, fn func(SignedTx) error) error {
	if len(tags) == 0 && len(ids) == 0 {
		return errors.New("arweave: a GraphQL query needs tags or ids")
	}
	type page struct {
		PageInfo struct {
			HasNextPage bool `json:"hasNextPage"`
		} `json:"pageInfo"`
		Edges []struct {
			Cursor string   `json:"cursor"`
			Node   SignedTx `json:"node"`
		} `json:"edges"`
	}
	q := `query($tags:[TagFilter!],$ids:[ID!],$first:Int,$after:String){transactions(tags:$tags,ids:$ids,first:$first,after:$after){pageInfo{hasNextPage} edges{cursor node{` + signedTxFields + `}}}}`
	after := ""
	for n := 1; ; n++ {
		vars := map[string]any{"first": 100}
		if len(tags) > 0 {
			vars["tags"] = tags
		}
		if len(ids) > 0 {
			vars["ids"] = ids
		}
		if after != "" {
			vars["after"] = after
		}
		var p page
		what := fmt.Sprintf("GraphQL transactions %s (page %d)", describeQuery(tags, ids), n)
		_, err := retried(ctx, g, r, what, func() (struct{}, error) { return struct{}{}, g.graphqlInto(ctx, q, vars, &p) })
		if err != nil {
			return err
		}
		for _, e := range p.Edges {
			if err := fn(e.Node); err != nil {
				return err
			}
		}
		if !p.PageInfo.HasNextPage || len(p.Edges) == 0 {
			return nil
		}
		after = p.Edges[len(p.Edges)-1].Cursor
	}
}

// Signed returns one item's GraphQL node by id, or a *ReadError wrapping a 404 StatusError.
func (g *Gateway) Signed(ctx context.Context, r Retry, id string) (*SignedTx, error) {
	var found *SignedTx
	err := g.EachSigned(ctx, r, nil, []string{id}, func(t SignedTx) error {
		if t.ID == id && found == nil {
			found = &t
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, &ReadError{Gateway: g.URL, What: "GraphQL transaction " + id, Attempts: 1,
			Err: &StatusError{Method: http.MethodPost, URL: g.URL + "/graphql", Code: http.StatusNotFound, Body: "no such transaction"}}
	}
	return found, nil
}

func describeQuery(tags []TagFilter, ids []string) string {
	s := ""
	for _, t := range tags {
		s += fmt.Sprintf("%s=%v ", t.Name, t.Values)
	}
	if len(ids) > 0 {
		s += fmt.Sprintf("ids=%v", ids)
	}
	return "[" + s + "]"
}

// graphqlInto posts a query and decodes data.transactions into out.
func (g *Gateway) graphqlInto(ctx context.Context, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	b, err := do(ctx, g.hc, http.MethodPost, g.URL+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	var resp struct {
		Data struct {
			Transactions json.RawMessage `json:"transactions"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return fmt.Errorf("the answer is not GraphQL JSON: %w", err)
	}
	if len(resp.Errors) > 0 {
		return fmt.Errorf("GraphQL error: %s", resp.Errors[0].Message)
	}
	return json.Unmarshal(resp.Data.Transactions, out)
}
