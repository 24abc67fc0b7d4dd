package api

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/actorweave/actorweave/ans104"
)

// The scheduler unit's JSON shapes (snake_case), as servers/su/src/domain/core/json.rs writes them.

type suOwner struct {
	Address string `json:"address"`
	Key     string `json:"key"`
}

type suTag = ans104.Tag

type suMessageInner struct {
	ID        string  `json:"id"`
	Owner     suOwner `json:"owner"`
	Data      string  `json:"data"`
	Tags      []suTag `json:"tags"`
	Signature string  `json:"signature"`
	Anchor    *string `json:"anchor"`
	Target    string  `json:"target"`
}

type suAssignmentInner struct {
	ID        string  `json:"id"`
	Owner     suOwner `json:"owner"`
	Tags      []suTag `json:"tags"`
	Signature string  `json:"signature"`
	Anchor    *string `json:"anchor"`
	Target    string  `json:"target"`
}

type suMessage struct {
	Message    *suMessageInner   `json:"message"`
	Assignment suAssignmentInner `json:"assignment"`
}

type suEdge struct {
	Node   suMessage `json:"node"`
	Cursor string    `json:"cursor"`
}

type suPage struct {
	PageInfo struct {
		HasNextPage bool `json:"has_next_page"`
	} `json:"page_info"`
	Edges []suEdge `json:"edges"`
}

type suProcess struct {
	ProcessID string  `json:"process_id"`
	Block     string  `json:"block"`
	Owner     suOwner `json:"owner"`
	Tags      []suTag `json:"tags"`
	Timestamp int64   `json:"timestamp"`
	Data      *string `json:"data"`
	Anchor    *string `json:"anchor"`
	Signature string  `json:"signature"`
	Target    string  `json:"target"`
}

func ownerOf(d *ans104.DataItem) suOwner {
	return suOwner{Address: d.OwnerAddress(), Key: ans104.EncodeB64(d.Owner)}
}

// anchorOf renders the 32 raw anchor bytes as the SU does: as a UTF-8 string, null when absent or
// not valid UTF-8, base64url when show-anchor is set.
func anchorOf(d *ans104.DataItem, showAnchor bool) *string {
	if len(d.Anchor) == 0 {
		return nil
	}
	var s string
	switch {
	case showAnchor:
		s = ans104.EncodeB64(d.Anchor)
	case utf8.Valid(d.Anchor):
		s = string(d.Anchor)
	default:
		return nil
	}
	return &s
}

func targetOf(d *ans104.DataItem) string {
	if len(d.Target) == 0 {
		return ""
	}
	return d.TargetID().String()
}

func tagsOf(d *ans104.DataItem) []suTag {
	if d.Tags == nil {
		return []suTag{}
	}
	return d.Tags
}

// lossyUTF8 decodes bytes as Rust's String::from_utf8_lossy does.
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func renderEntry(e *LogEntry, showAnchor bool) suMessage {
	a := e.Assignment
	out := suMessage{Assignment: suAssignmentInner{
		ID: a.ID().String(), Owner: ownerOf(a), Tags: tagsOf(a), Signature: ans104.EncodeB64(a.Signature),
		Anchor: anchorOf(a, showAnchor), Target: targetOf(a),
	}}
	if m := e.Message; m != nil {
		out.Message = &suMessageInner{
			ID: m.ID().String(), Owner: ownerOf(m), Data: lossyUTF8(m.Data), Tags: tagsOf(m),
			Signature: ans104.EncodeB64(m.Signature), Anchor: anchorOf(m, showAnchor), Target: targetOf(m),
		}
	}
	return out
}

func renderPage(p *LogPage, byNonce, showAnchor bool) suPage {
	out := suPage{Edges: make([]suEdge, 0, len(p.Entries))}
	out.PageInfo.HasNextPage = p.HasMore
	for i := range p.Entries {
		e := &p.Entries[i]
		cursor := strconv.FormatInt(e.Timestamp, 10)
		if byNonce {
			cursor = strconv.FormatUint(e.Nonce, 10)
		}
		out.Edges = append(out.Edges, suEdge{Node: renderEntry(e, showAnchor), Cursor: cursor})
	}
	return out
}

func renderProcess(p *ProcessRecord) suProcess {
	d := p.Item
	out := suProcess{
		ProcessID: d.ID().String(), Block: ans104.FormatBlockHeight(p.BlockHeight), Owner: ownerOf(d),
		Tags: tagsOf(d), Timestamp: p.Timestamp, Anchor: anchorOf(d, false), Signature: ans104.EncodeB64(d.Signature),
		Target: targetOf(d),
	}
	if utf8.Valid(d.Data) {
		s := string(d.Data)
		out.Data = &s
	}
	return out
}

// parseLogQuery reads from/to/limit/from-nonce/to-nonce as the reference SU does.
func parseLogQuery(r *http.Request) (LogQuery, error) {
	var q LogQuery
	qs := r.URL.Query()
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"from", &q.From}, {"to", &q.To}, {"from-nonce", &q.FromNonce}, {"to-nonce", &q.ToNonce}} {
		if v := qs.Get(f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return q, badRequest(f.name + " must be an integer, not " + strconv.Quote(v))
			}
			*f.dst = &n
		}
	}
	if v := qs.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return q, badRequest("limit must be a non-negative integer, not " + strconv.Quote(v))
		}
		q.Limit = n
	}
	return q, nil
}
