package arweave

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/actorweave/actorweave/ans104"
)

// What WeaveDrive (weavedrive/) reads from a gateway, as the reference drive reads it: an item's
// size (HEAD /{id}, then HEAD /raw/{id}), its data from an offset (GET with a Range; a gateway that
// ignores Range answers the whole item), a transaction's header (GET /tx/{id}), a block's header
// (GET /block/height/{h}), and whether an attestation exists (GraphQL by owners, tags and block).

// DataSize returns an item's data size from the Content-Length of HEAD /{id}, or of HEAD
// /raw/{id} when the first answer has none (the reference drive's order), or GraphQL's data.size
// when a HEAD answered without one; a 404 of both HEADs is a *StatusError with Code 404.
func (g *Gateway) DataSize(ctx context.Context, id string) (int64, error) {
	var last error
	headOK := false // some HEAD answered 2xx
	for _, path := range []string{"/" + id, "/raw/" + id} {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, g.URL+path, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := g.hc.Do(req)
		if err != nil {
			return 0, fmt.Errorf("arweave: HEAD %s%s: %w", g.URL, path, err)
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			last = &StatusError{Method: http.MethodHead, URL: g.URL + path, Code: resp.StatusCode}
			continue
		}
		headOK = true
		n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
		if err != nil || n < 0 {
			last = fmt.Errorf("arweave: HEAD %s%s: no Content-Length", g.URL, path)
			continue
		}
		return n, nil
	}
	if se, ok := last.(*StatusError); ok && se.Code == http.StatusNotFound && !headOK {
		return 0, last
	}
	// A HEAD without Content-Length (arlocal answers 200 with none): the size GraphQL gives.
	aid, err := ans104.ParseID(id)
	if err != nil {
		return 0, err
	}
	txs, err := g.ByIDs(ctx, []ans104.ID{aid})
	if err != nil {
		return 0, err
	}
	for _, tx := range txs {
		if tx.ID == id {
			n, err := strconv.ParseInt(tx.Data.Size, 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("arweave: gateway %s: GraphQL data.size %q of %s", g.URL, tx.Data.Size, id)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("arweave: gateway %s: HEAD /%s answered no Content-Length and GraphQL does not list it", g.URL, id)
}

// DataFrom opens an item's data at off with a Range request: partial says the gateway honoured
// it (206: the body starts at off); otherwise (200) the body is the whole item from byte 0. The
// caller closes the body.
func (g *Gateway) DataFrom(ctx context.Context, id string, off int64) (body io.ReadCloser, partial bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.URL+"/"+id, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	resp, err := g.hc.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("arweave: GET %s/%s: %w", g.URL, id, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Body, false, nil
	case http.StatusPartialContent:
		cr := resp.Header.Get("Content-Range") // bytes a-b/n
		var a, b, n int64
		if _, err := fmt.Sscanf(cr, "bytes %d-%d/%d", &a, &b, &n); err != nil || a != off {
			resp.Body.Close()
			return nil, false, fmt.Errorf("arweave: GET %s/%s from %d: Content-Range %q", g.URL, id, off, cr)
		}
		return resp.Body, true, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	resp.Body.Close()
	return nil, false, &StatusError{Method: http.MethodGet, URL: g.URL + "/" + id, Code: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
}

// getLimited is a GET whose 2xx body may have at most max bytes.
func (g *Gateway) getLimited(ctx context.Context, path string, max int64) ([]byte, error) {
	b, err := doLimited(ctx, g.hc, http.MethodGet, g.URL+path, "", nil, max)
	if err == nil && int64(len(b)) > max {
		return nil, fmt.Errorf("arweave: GET %s%s: more than %d bytes", g.URL, path, max)
	}
	return b, err
}

// TxHeader returns GET /tx/{id} (a transaction's header JSON), at most max bytes.
func (g *Gateway) TxHeader(ctx context.Context, id string, max int64) ([]byte, error) {
	return g.getLimited(ctx, "/tx/"+id, max)
}

// BlockHeader returns GET /block/height/{h} (a block's header JSON), at most max bytes.
func (g *Gateway) BlockHeader(ctx context.Context, height uint64, max int64) ([]byte, error) {
	return g.getLimited(ctx, "/block/height/"+strconv.FormatUint(height, 10), max)
}

// AnyTransaction reports whether a transaction signed by one of owners, in a block at or below
// maxHeight, has every tag of tags (the reference drive's attestation queries).
func (g *Gateway) AnyTransaction(ctx context.Context, owners []string, maxHeight uint64, tags []TagFilter) (bool, error) {
	q := `query($owners:[String!],$tags:[TagFilter!],$max:Int){transactions(owners:$owners,tags:$tags,block:{min:0,max:$max},first:1){edges{node{id}}}}`
	var p struct {
		Edges []struct {
			Node struct {
				ID string `json:"id"`
			} `json:"node"`
		} `json:"edges"`
	}
	if maxHeight > 1<<31-1 {
		maxHeight = 1<<31 - 1 // GraphQL's Int
	}
	if err := g.graphqlInto(ctx, q, map[string]any{"owners": owners, "tags": tags, "max": maxHeight}, &p); err != nil {
		return false, fmt.Errorf("arweave: gateway %s: GraphQL: %w", g.URL, err)
	}
	return len(p.Edges) > 0, nil
}
