package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// The compute unit's JSON shapes (Title-Case), as servers/cu writes them.

type cuResult struct {
	Messages    []json.RawMessage `json:"Messages"`
	Assignments []json.RawMessage `json:"Assignments"`
	Spawns      []json.RawMessage `json:"Spawns"`
	Output      json.RawMessage   `json:"Output"`
	GasUsed     uint64            `json:"GasUsed"`
	Error       json.RawMessage   `json:"Error,omitempty"`
	Quota       string            `json:"Quota,omitempty"`    // actorweave: a per-process quota met
	Rejected    []Rejected        `json:"Rejected,omitempty"` // actorweave: outbox entries not pushed
}

func renderResult(r *Result) cuResult {
	out := cuResult{Messages: r.Messages, Assignments: r.Assignments, Spawns: r.Spawns, Output: r.Output,
		GasUsed: r.GasUsed, Error: r.Error, Quota: r.Quota, Rejected: r.Rejected}
	if out.Messages == nil {
		out.Messages = []json.RawMessage{}
	}
	if out.Assignments == nil {
		out.Assignments = []json.RawMessage{}
	}
	if out.Spawns == nil {
		out.Spawns = []json.RawMessage{}
	}
	if len(out.Output) == 0 {
		out.Output = json.RawMessage(`""`)
	}
	return out
}

type cuEdge struct {
	Cursor string   `json:"cursor"`
	Node   cuResult `json:"node"`
}

type cuPage struct {
	PageInfo struct {
		HasNextPage bool `json:"hasNextPage"`
	} `json:"pageInfo"`
	Edges []cuEdge `json:"edges"`
}

// encodeCursor is the reference CU's cursor: base64 of JSON {timestamp, ordinate, cron, sort}.
func encodeCursor(r *Result, sort string) string {
	c := Cursor{Timestamp: r.Timestamp, Ordinate: strconv.FormatUint(r.Nonce, 10), Cron: r.CronKey, Sort: sort}
	b, _ := json.Marshal(c)
	return base64.StdEncoding.EncodeToString(b)
}

// decodeCursor accepts a cursor from encodeCursor, or a bare timestamp as the reference CU does.
func decodeCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	if ts, err := strconv.ParseInt(s, 10, 64); err == nil {
		return &Cursor{Timestamp: ts}, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	var c Cursor
	if err != nil || json.Unmarshal(b, &c) != nil {
		return nil, badRequest("cursor " + strconv.Quote(s) + " is neither a timestamp nor a /results cursor")
	}
	return &c, nil
}

func renderResultsPage(p *ResultsPage, desc bool) cuPage {
	sort := "ASC"
	if desc {
		sort = "DESC"
	}
	out := cuPage{Edges: make([]cuEdge, 0, len(p.Results))}
	out.PageInfo.HasNextPage = p.HasMore
	for i := range p.Results {
		r := &p.Results[i]
		out.Edges = append(out.Edges, cuEdge{Cursor: encodeCursor(r, sort), Node: renderResult(r)})
	}
	return out
}

func parseResultsQuery(r *http.Request) (ResultsQuery, error) {
	qs := r.URL.Query()
	var q ResultsQuery
	var err error
	if q.From, err = decodeCursor(qs.Get("from")); err != nil {
		return q, err
	}
	if q.To, err = decodeCursor(qs.Get("to")); err != nil {
		return q, err
	}
	switch strings.ToUpper(qs.Get("sort")) {
	case "", "ASC":
	case "DESC":
		q.Desc = true
	default:
		return q, badRequest("sort must be ASC or DESC")
	}
	q.Limit = 25
	if v := qs.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return q, badRequest("limit must be a positive integer")
		}
		q.Limit = n
	}
	return q, nil
}
