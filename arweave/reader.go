package arweave

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reader reads what a gateway holds: GraphQL transactions by tags or ids, and raw data by id. It is
// what recovery and verification use; it never writes. Every error names the gateway, the item
// and, for an HTTP failure, the status and the start of the body.
type Reader struct {
	base string
	cfg  ReaderConfig
	hc   *http.Client
}

// ReaderConfig bounds the reader. Zero fields take the defaults of DefaultReaderConfig.
type ReaderConfig struct {
	// Timeout bounds one HTTP request (each attempt).
	Timeout time.Duration
	// Retries is how many times a failed request is tried again (network errors, 429, 5xx); 4xx
	// other than 429 are answers, not failures, and are not retried.
	Retries int
	// Backoff is the wait before the first retry; it doubles up to 8× per retry.
	Backoff time.Duration
	// MaxDataBytes bounds one data download.
	MaxDataBytes int64
	// PageSize is the GraphQL page size (the gateways' maximum is 100).
	PageSize int
}

// DefaultReaderConfig: 30 s per request, 4 retries from 250 ms, 64 MiB per download, pages of 100.
func DefaultReaderConfig() ReaderConfig {
	return ReaderConfig{Timeout: 30 * time.Second, Retries: 4, Backoff: 250 * time.Millisecond,
		MaxDataBytes: 64 << 20, PageSize: 100}
}

func (c ReaderConfig) withDefaults() ReaderConfig {
	d := DefaultReaderConfig()
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = d.Retries
	}
	if c.Backoff <= 0 {
		c.Backoff = d.Backoff
	}
	if c.MaxDataBytes <= 0 {
		c.MaxDataBytes = d.MaxDataBytes
	}
	if c.PageSize <= 0 || c.PageSize > 100 {
		c.PageSize = d.PageSize
	}
	return c
}

// NewReader reads from the gateway at base (e.g. http://127.0.0.1:1984).
func NewReader(base string, cfg ReaderConfig) *Reader {
	cfg = cfg.withDefaults()
	return &Reader{base: strings.TrimRight(base, "/"), cfg: cfg, hc: &http.Client{Timeout: cfg.Timeout}}
}

// URL is the gateway's base URL.
func (r *Reader) URL() string { return r.base }

// GatewayError is a gateway answer that is not a success.
type GatewayError struct {
	Gateway string
	What    string // e.g. "data of item X", "GraphQL transactions query"
	Status  int    // 0 for a network error
	Body    string // start of the body
	Err     error  // network error, if any
}

func (e *GatewayError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("arweave: gateway %s: %s: %v", e.Gateway, e.What, e.Err)
	}
	return fmt.Sprintf("arweave: gateway %s: %s: HTTP %d %s", e.Gateway, e.What, e.Status, e.Body)
}

func (e *GatewayError) Unwrap() error { return e.Err }

// ErrNotFound: the gateway answered 404 for an item's data.
var ErrNotFound = errors.New("not found on the gateway")

// IsNotFound reports whether err is a 404 from the gateway.
func IsNotFound(err error) bool {
	var ge *GatewayError
	return errors.Is(err, ErrNotFound) || (errors.As(err, &ge) && ge.Status == http.StatusNotFound)
}

// do runs one request with retries. build makes a fresh request per attempt.
func (r *Reader) do(ctx context.Context, what string, build func() (*http.Request, error), limit int64) ([]byte, error) {
	wait := r.cfg.Backoff
	var last error
	for attempt := 0; attempt <= r.cfg.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("arweave: gateway %s: %s: %w (after %v)", r.base, what, ctx.Err(), last)
			case <-time.After(wait):
			}
			if wait < 8*r.cfg.Backoff {
				wait *= 2
			}
		}
		req, err := build()
		if err != nil {
			return nil, err
		}
		resp, err := r.hc.Do(req.WithContext(ctx))
		if err != nil {
			last = &GatewayError{Gateway: r.base, What: what, Err: err}
			if ctx.Err() != nil {
				return nil, last
			}
			continue
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK && rerr == nil && int64(len(body)) > limit:
			return nil, &GatewayError{Gateway: r.base, What: what, Status: resp.StatusCode,
				Body: fmt.Sprintf("(body over the %d-byte limit)", limit)}
		case resp.StatusCode == http.StatusOK && rerr == nil:
			return body, nil
		case rerr != nil:
			last = &GatewayError{Gateway: r.base, What: what, Status: resp.StatusCode, Err: rerr}
			continue
		}
		ge := &GatewayError{Gateway: r.base, What: what, Status: resp.StatusCode, Body: clip(body)}
		if resp.StatusCode == http.StatusNotFound {
			ge.Err = ErrNotFound
		}
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			return nil, ge
		}
		last = ge
	}
	return nil, last
}

func clip(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Data returns the raw data of a transaction or data item: GET {gateway}/{id}.
func (r *Reader) Data(ctx context.Context, id string) ([]byte, error) {
	return r.do(ctx, "data of "+id, func() (*http.Request, error) {
		return http.NewRequest(http.MethodGet, r.base+"/"+id, nil)
	}, r.cfg.MaxDataBytes)
}

// Tag is a name/value pair as GraphQL returns it.
type Tag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TagFilter matches transactions with a tag Name equal to one of Values.
type TagFilter struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// Tx is one GraphQL transaction node.
type Tx struct {
	ID        string `json:"id"`
	Signature string `json:"signature"`
	Anchor    string `json:"anchor"`
	Recipient string `json:"recipient"`
	Owner     struct {
		Address string `json:"address"`
		Key     string `json:"key"`
	} `json:"owner"`
	Tags []Tag `json:"tags"`
	Data struct {
		Size json.Number `json:"size"`
	} `json:"data"`
	Block *struct {
		Height int64 `json:"height"`
	} `json:"block"`
}

// TagValue is the first value of tag name, or "".
func (t *Tx) TagValue(name string) string {
	for _, g := range t.Tags {
		if g.Name == name {
			return g.Value
		}
	}
	return ""
}

// TxQuery is a GraphQL transactions query: tags (AND across filters, OR within values) or ids.
type TxQuery struct {
	IDs  []string
	Tags []TagFilter
}

const txFields = `id signature anchor recipient owner{address key} tags{name value} data{size} block{height}`

type gqlResponse struct {
	Data struct {
		Transactions struct {
			PageInfo struct {
				HasNextPage bool `json:"hasNextPage"`
			} `json:"pageInfo"`
			Edges []struct {
				Cursor string `json:"cursor"`
				Node   Tx     `json:"node"`
			} `json:"edges"`
		} `json:"transactions"`
	} `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

// Transactions visits every transaction matching q, page by page (in the gateway's order), until
// fn returns an error (which is returned) or the pages end.
func (r *Reader) Transactions(ctx context.Context, q TxQuery, fn func(Tx) error) error {
	if len(q.IDs) == 0 && len(q.Tags) == 0 {
		return errors.New("arweave: a transactions query needs ids or tags")
	}
	after := ""
	for page := 0; ; page++ {
		// Arguments are written inline rather than as variables: gateways disagree on the declared
		// argument types ([ID!] vs [ID], TagFilter vs TagFilterInput), and literals need none.
		args := []string{"first:" + strconv.Itoa(r.cfg.PageSize)}
		if len(q.IDs) > 0 {
			args = append(args, "ids:"+gqlStrings(q.IDs))
		}
		if len(q.Tags) > 0 {
			fs := make([]string, len(q.Tags))
			for i, t := range q.Tags {
				fs[i] = "{name:" + gqlString(t.Name) + ",values:" + gqlStrings(t.Values) + "}"
			}
			args = append(args, "tags:["+strings.Join(fs, ",")+"]")
		}
		if after != "" {
			args = append(args, "after:"+gqlString(after))
		}
		body, err := json.Marshal(map[string]any{
			"query": "{transactions(" + strings.Join(args, ",") + "){pageInfo{hasNextPage} edges{cursor node{" + txFields + "}}}}",
		})
		if err != nil {
			return err
		}
		what := fmt.Sprintf("GraphQL transactions query %s (page %d)", describe(q), page+1)
		raw, err := r.do(ctx, what, func() (*http.Request, error) {
			req, err := http.NewRequest(http.MethodPost, r.base+"/graphql", bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
			}
			return req, err
		}, 32<<20)
		if err != nil {
			return err
		}
		var resp gqlResponse
		if err := json.Unmarshal(raw, &resp); err != nil {
			return fmt.Errorf("arweave: gateway %s: %s: answer is not GraphQL JSON: %w", r.base, what, err)
		}
		if len(resp.Errors) > 0 {
			return fmt.Errorf("arweave: gateway %s: %s: %s", r.base, what, resp.Errors[0].Message)
		}
		edges := resp.Data.Transactions.Edges
		for _, e := range edges {
			if err := fn(e.Node); err != nil {
				return err
			}
		}
		if !resp.Data.Transactions.PageInfo.HasNextPage || len(edges) == 0 {
			return nil
		}
		after = edges[len(edges)-1].Cursor
	}
}

// gqlString is a GraphQL string literal (JSON's escaping is valid GraphQL).
func gqlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func gqlStrings(ss []string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = gqlString(s)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func describe(q TxQuery) string {
	var parts []string
	if len(q.IDs) > 0 {
		parts = append(parts, "ids="+strings.Join(q.IDs, ","))
	}
	for _, t := range q.Tags {
		parts = append(parts, t.Name+"="+strings.Join(t.Values, "|"))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Transaction returns the GraphQL node of one id, or an error wrapping ErrNotFound.
func (r *Reader) Transaction(ctx context.Context, id string) (*Tx, error) {
	var found *Tx
	err := r.Transactions(ctx, TxQuery{IDs: []string{id}}, func(t Tx) error {
		if t.ID == id && found == nil {
			found = &t
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("arweave: gateway %s: transaction %s: %w", r.base, id, ErrNotFound)
	}
	return found, nil
}
