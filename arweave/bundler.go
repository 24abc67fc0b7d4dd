package arweave

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/actorweave/actorweave/ans104"
)

// Bundler posts each data item alone to a bundler, POST {url}/tx as application/octet-stream, as
// the reference ao SU and HyperBEAM upload (docs/design.md §6). Bundlers deduplicate by
// item id, so posting the same signed item again is harmless; that is what makes a retry after a
// crash safe on this path.
type Bundler struct {
	URL string
	// Gateway, when set, is asked (GraphQL by ids) whether an upload's items are already readable
	// before they are posted again after a crash.
	Gateway *Gateway
	hc      *http.Client
}

// NewBundler builds the bundler path; gateway may be nil.
func NewBundler(url string, gateway *Gateway) (*Bundler, error) {
	if url == "" {
		return nil, errors.New("arweave: the bundler path needs a URL")
	}
	return &Bundler{URL: strings.TrimRight(url, "/"), Gateway: gateway, hc: newHTTPClient()}, nil
}

// Name implements Poster.
func (b *Bundler) Name() string { return "bundler " + b.URL }

// Prepare lists the items: they are already signed, nothing more is.
func (b *Bundler) Prepare(ctx context.Context, items []*ans104.DataItem) (*Upload, error) {
	if len(items) == 0 {
		return nil, errors.New("arweave: nothing to upload")
	}
	u := &Upload{}
	for _, it := range items {
		raw := it.Bytes()
		u.Items = append(u.Items, raw)
		u.IDs = append(u.IDs, it.ID())
		u.Bytes += len(raw)
	}
	return u, nil
}

// Post sends every item; 409 (already have it) counts as accepted.
func (b *Bundler) Post(ctx context.Context, u *Upload) error {
	for _, raw := range u.Items {
		_, err := do(ctx, b.hc, http.MethodPost, b.URL+"/tx", "application/octet-stream", bytes.NewReader(raw))
		var se *StatusError
		if err != nil && !(errors.As(err, &se) && se.Code == http.StatusConflict) {
			return err
		}
	}
	return nil
}

// Landed is true when the gateway already returns every item; without a gateway it is false, and
// the items are posted again (the bundler deduplicates).
func (b *Bundler) Landed(ctx context.Context, u *Upload) (bool, error) {
	if b.Gateway == nil {
		return false, nil
	}
	have, err := b.Gateway.Have(ctx, u.IDs)
	if err != nil {
		return false, err
	}
	return len(have) == len(u.IDs), nil
}
