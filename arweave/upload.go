package arweave

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/actorweave/actorweave/ans104"
)

// Upload is one signed unit of upload: everything needed to post it again, byte for byte.
type Upload struct {
	// TxID is the L1 transaction id (L1 path); empty on the bundler path.
	TxID string
	// Tx is the L1 transaction JSON, signed, with the bundle inline (L1 path).
	Tx []byte
	// Items are the signed data items: on the bundler path each is posted alone; on the L1 path
	// they are what the bundle in Tx holds (kept so the upload can be checked item by item),
	// followed there by a padding item when its size needed one (FORMAT.md §5), which is not listed.
	Items [][]byte
	// IDs are the items' ids, in order.
	IDs []ans104.ID
	// Bytes is what the upload costs on Arweave: the bundle size (L1) or the items' total.
	Bytes int
}

// Encode serialises u for the in-flight record.
func (u *Upload) Encode() []byte {
	n := 16 + len(u.TxID) + len(u.Tx) + 32*len(u.IDs)
	for _, it := range u.Items {
		n += len(it) + 8
	}
	b := make([]byte, 0, n)
	b = append(b, 1)
	b = appendBytes(b, []byte(u.TxID))
	b = appendBytes(b, u.Tx)
	b = binary.AppendUvarint(b, uint64(len(u.Items)))
	for _, it := range u.Items {
		b = appendBytes(b, it)
	}
	return binary.AppendUvarint(b, uint64(u.Bytes))
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// DecodeUpload reads what Encode wrote; the item ids are recomputed from the items.
func DecodeUpload(b []byte) (*Upload, error) {
	bad := errors.New("arweave: malformed upload record")
	if len(b) == 0 || b[0] != 1 {
		return nil, bad
	}
	b = b[1:]
	take := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v, true
	}
	u := &Upload{}
	txid, ok1 := take()
	tx, ok2 := take()
	if !ok1 || !ok2 {
		return nil, bad
	}
	u.TxID, u.Tx = string(txid), tx
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, bad
	}
	b = b[k:]
	for i := uint64(0); i < n; i++ {
		it, ok := take()
		if !ok {
			return nil, bad
		}
		d, err := ans104.Parse(it, ans104.Limits{})
		if err != nil {
			return nil, fmt.Errorf("arweave: upload record item %d: %w", i, err)
		}
		u.Items = append(u.Items, it)
		u.IDs = append(u.IDs, d.ID())
	}
	size, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, bad
	}
	u.Bytes = int(size)
	return u, nil
}

// Poster is one upload path.
type Poster interface {
	// Prepare signs what is needed to post items (already signed by the node key) and returns the
	// upload. It does not post anything.
	Prepare(ctx context.Context, items []*ans104.DataItem) (*Upload, error)
	// Post posts u. Posting an upload that is already there may fail; check Landed.
	Post(ctx context.Context, u *Upload) error
	// Landed reports whether u is already accepted (so it must not be posted again). false with a
	// nil error means "not known to be there": posting the same bytes again is safe.
	Landed(ctx context.Context, u *Upload) (bool, error)
	// Name says which path this is, for logs.
	Name() string
}

// httpClient is shared by the posters and the gateway reader: our own client, with a timeout, so
// that nothing changes http.DefaultClient.
func newHTTPClient() *http.Client { return &http.Client{Timeout: 60 * time.Second} }

// StatusError is a non-2xx answer.
type StatusError struct {
	Method, URL string
	Code        int
	Body        string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("arweave: %s %s: HTTP %d: %s", e.Method, e.URL, e.Code, e.Body)
}

// do sends a request and returns the body of a 2xx answer (at most 256 MiB of it), or a
// *StatusError.
func do(ctx context.Context, hc *http.Client, method, url, ctype string, body io.Reader) ([]byte, error) {
	b, err := doLimited(ctx, hc, method, url, ctype, body, 256<<20)
	return b[:min(len(b), 256<<20)], err
}

// doLimited is do reading at most max+1 bytes of the answer: a 2xx body longer than max comes
// back with max+1 bytes (the caller tells it from one of max).
func doLimited(ctx context.Context, hc *http.Client, method, url, ctype string, body io.Reader, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("arweave: %s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("arweave: %s %s: reading the answer: %w", method, url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := strings.TrimSpace(string(b))
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return nil, &StatusError{Method: method, URL: url, Code: resp.StatusCode, Body: msg}
	}
	return b, nil
}
