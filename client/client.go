// Package client is a Go client of a node's HTTP API: the calls aoconnect makes (publish a module,
// spawn, message, result, results, dry-run), with data items signed locally. The CLI, the end-to-end
// tests and the benchmarks use it.
//
// It must not reach into a node's internals: everything goes over HTTP.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/actorweave/actorweave/ans104"
)

// Client talks to one node.
type Client struct {
	Base   string // e.g. http://127.0.0.1:8734
	HTTP   *http.Client
	Signer ans104.Signer
}

// New returns a client of the node at base signing with s.
func New(base string, s ans104.Signer) *Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	return &Client{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{Transport: tr, Timeout: 60 * time.Second}, Signer: s}
}

// Error is a non-2xx answer.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("node answered %d: %s", e.Status, e.Message) }

func (c *Client) do(ctx context.Context, method, path string, body []byte, ctype string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return &Error{Status: resp.StatusCode, Message: msg}
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decoding %s %s: %w", method, path, err)
	}
	return nil
}

// Sign builds and signs an item with the client's key. A nil anchor gets a random one: ed25519
// signatures are deterministic, so two identical messages would otherwise be one item (one id),
// and the second would be refused as a duplicate.
func (c *Client) Sign(data []byte, target *ans104.ID, anchor []byte, tags []ans104.Tag) (*ans104.DataItem, error) {
	var t []byte
	if target != nil {
		t = target[:]
	}
	if anchor == nil {
		anchor = RandomAnchor()
	}
	d := ans104.NewItem(data, t, anchor, tags)
	if err := d.Sign(c.Signer); err != nil {
		return nil, err
	}
	return d, nil
}

// PostItem sends a signed item to POST / (the messenger) and returns its id.
func (c *Client) PostItem(ctx context.Context, item *ans104.DataItem) (ans104.ID, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/", item.Bytes(), "application/octet-stream", &out); err != nil {
		return ans104.ID{}, err
	}
	return ans104.ParseID(out.ID)
}

// ModuleSpec describes a module to publish.
type ModuleSpec struct {
	Wasm         []byte
	Format       string
	MemoryLimit  string
	ComputeLimit string
	Tags         []ans104.Tag
}

// PublishModule signs a Module item for spec and posts it to POST /tx.
func (c *Client) PublishModule(ctx context.Context, spec ModuleSpec) (ans104.ID, error) {
	tags := []ans104.Tag{
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Module"},
		{Name: "Module-Format", Value: spec.Format}, {Name: "Input-Encoding", Value: "JSON-1"},
		{Name: "Output-Encoding", Value: "JSON-1"}, {Name: "Content-Type", Value: "application/wasm"},
	}
	if spec.MemoryLimit != "" {
		tags = append(tags, ans104.Tag{Name: "Memory-Limit", Value: spec.MemoryLimit})
	}
	if spec.ComputeLimit != "" {
		tags = append(tags, ans104.Tag{Name: "Compute-Limit", Value: spec.ComputeLimit})
	}
	tags = append(tags, spec.Tags...)
	item, err := c.Sign(spec.Wasm, nil, nil, tags)
	if err != nil {
		return ans104.ID{}, err
	}
	if err := c.do(ctx, http.MethodPost, "/tx", item.Bytes(), "application/octet-stream", nil); err != nil {
		return ans104.ID{}, err
	}
	return item.ID(), nil
}

// SchedulerAddress is the node's scheduler wallet address (GET /).
func (c *Client) SchedulerAddress(ctx context.Context) (string, error) {
	var out struct {
		Address string `json:"address"`
	}
	err := c.do(ctx, http.MethodGet, "/", nil, "", &out)
	return out.Address, err
}

// Spawn signs and posts a Process item for module, as aoconnect's spawn does, and returns the
// process id. scheduler "" asks the node for its address.
func (c *Client) Spawn(ctx context.Context, module ans104.ID, scheduler string, data []byte, tags []ans104.Tag) (ans104.ID, error) {
	if scheduler == "" {
		var err error
		if scheduler, err = c.SchedulerAddress(ctx); err != nil {
			return ans104.ID{}, err
		}
	}
	all := append(append([]ans104.Tag(nil), tags...),
		ans104.Tag{Name: "Data-Protocol", Value: "ao"}, ans104.Tag{Name: "Variant", Value: "ao.TN.1"},
		ans104.Tag{Name: "Type", Value: "Process"}, ans104.Tag{Name: "Module", Value: module.String()},
		ans104.Tag{Name: "Scheduler", Value: scheduler}, ans104.Tag{Name: "SDK", Value: "actorweave"})
	if len(data) == 0 {
		data = []byte(" ")
	}
	item, err := c.Sign(data, nil, nil, all)
	if err != nil {
		return ans104.ID{}, err
	}
	return c.PostItem(ctx, item)
}

// MessageItem builds a signed message to process pid, as aoconnect's message does.
func (c *Client) MessageItem(pid ans104.ID, data []byte, tags []ans104.Tag) (*ans104.DataItem, error) {
	all := append(append([]ans104.Tag(nil), tags...),
		ans104.Tag{Name: "Data-Protocol", Value: "ao"}, ans104.Tag{Name: "Variant", Value: "ao.TN.1"},
		ans104.Tag{Name: "Type", Value: "Message"}, ans104.Tag{Name: "SDK", Value: "actorweave"})
	if len(data) == 0 {
		data = []byte(" ")
	}
	return c.Sign(data, &pid, nil, all)
}

// Send signs and posts a message to pid and returns its id.
func (c *Client) Send(ctx context.Context, pid ans104.ID, data []byte, tags []ans104.Tag) (ans104.ID, error) {
	item, err := c.MessageItem(pid, data, tags)
	if err != nil {
		return ans104.ID{}, err
	}
	return c.PostItem(ctx, item)
}

// Result is a CU result.
type Result struct {
	Output      json.RawMessage   `json:"Output"`
	Messages    []json.RawMessage `json:"Messages"`
	Spawns      []json.RawMessage `json:"Spawns"`
	Assignments []json.RawMessage `json:"Assignments"`
	Error       json.RawMessage   `json:"Error,omitempty"`
	GasUsed     uint64            `json:"GasUsed"`
}

// Result waits for and returns the result of message msg on pid (GET /result/:id).
func (c *Client) Result(ctx context.Context, pid, msg ans104.ID) (*Result, error) {
	var out Result
	err := c.do(ctx, http.MethodGet, "/result/"+msg.String()+"?process-id="+pid.String(), nil, "", &out)
	return &out, err
}

// ResultJSON is Result as the node wrote it, every field kept (GET /result/:id).
func (c *Client) ResultJSON(ctx context.Context, pid, msg ans104.ID) (json.RawMessage, error) {
	var b []byte
	err := c.do(ctx, http.MethodGet, "/result/"+msg.String()+"?process-id="+pid.String(), nil, "", &b)
	return b, err
}

// DryRunMessage is the message a dry-run evaluates, in the shape aoconnect's dryrun sends. Empty
// ID and Owner become "1234", as aoconnect defaults them; Target is always the process.
type DryRunMessage struct {
	ID     string
	Owner  string
	Data   string
	Anchor string
	Tags   []ans104.Tag
}

// DryRunJSON evaluates m on pid without changing it (POST /dry-run) and returns the result as the
// node wrote it. The AO protocol tags (Data-Protocol, Type, Variant) are added, as aoconnect does.
func (c *Client) DryRunJSON(ctx context.Context, pid ans104.ID, m DryRunMessage) (json.RawMessage, error) {
	if m.ID == "" {
		m.ID = "1234"
	}
	if m.Owner == "" {
		m.Owner = "1234"
	}
	if m.Anchor == "" {
		m.Anchor = "0"
	}
	tags := append(append([]ans104.Tag{}, m.Tags...), ans104.Tag{Name: "Data-Protocol", Value: "ao"},
		ans104.Tag{Name: "Type", Value: "Message"}, ans104.Tag{Name: "Variant", Value: "ao.TN.1"})
	body, _ := json.Marshal(map[string]any{"Id": m.ID, "Owner": m.Owner, "Target": pid.String(), "Data": m.Data,
		"Anchor": m.Anchor, "Tags": tags})
	var b []byte
	err := c.do(ctx, http.MethodPost, "/dry-run?process-id="+url.QueryEscape(pid.String()), body, "application/json", &b)
	return b, err
}

// Raw performs a GET and returns the body.
func (c *Client) Raw(ctx context.Context, path string) ([]byte, error) {
	var b []byte
	err := c.do(ctx, http.MethodGet, path, nil, "", &b)
	return b, err
}

// DryRun evaluates a message on pid without changing it (POST /dry-run). Its Owner (and so its
// From) is the client's signer when it has one, else "1234": a process that only obeys its owner
// (aos's Eval) answers the owner's dry-runs.
func (c *Client) DryRun(ctx context.Context, pid ans104.ID, data string, tags []ans104.Tag) (*Result, error) {
	m := DryRunMessage{Data: data, Tags: tags}
	if c.Signer != nil {
		m.Owner = ans104.Address(c.Signer.SignatureType(), c.Signer.Owner())
	}
	b, err := c.DryRunJSON(ctx, pid, m)
	if err != nil {
		return nil, err
	}
	var out Result
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("dry-run answer: %w", err)
	}
	return &out, nil
}

// Assign assigns message msg to process pid.
func (c *Client) Assign(ctx context.Context, pid, msg ans104.ID) (ans104.ID, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/?process-id="+pid.String()+"&assign="+msg.String(), nil, "", &out); err != nil {
		return ans104.ID{}, err
	}
	return ans104.ParseID(out.ID)
}

// RandomAnchor is 32 random base64url characters.
func RandomAnchor() []byte {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return []byte(ans104.EncodeB64(b[:]))
}
