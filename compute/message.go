package compute

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/cron"
)

// Entry is one log entry as evaluation needs it.
type Entry struct {
	Assignment     *ans104.Assignment // parsed tags of the assignment item
	AssignmentItem *ans104.DataItem
	// Message is the scheduled item (a Message, or the Process item itself at the start of the
	// log); nil for an assignment of a message this node does not hold.
	Message *ans104.DataItem
}

// messageJSON is the message object the reference CU passes to the module, field for field and
// in its order: servers/cu effects/ao-su.js mapNode merges the SU's message (Id, Signature, Data,
// Owner, Anchor, From, Forwarded-By, Tags), then the assignment's tags (Message, Target, Epoch,
// Nonce, Timestamp, Block-Height, Hash-Chain), then Cron, and JSON.stringify drops the undefined
// ones (Forwarded-By without From-Process; Message and Target of the process's own assignment). The
// module reads this JSON into Lua tables, so key order and presence shape table order, memory and
// GasUsed. There is no Module field (the module's id is in the env) and an absent anchor is null.
type messageJSON struct {
	ID          string       `json:"Id"`
	Signature   string       `json:"Signature"`
	Data        string       `json:"Data"`
	Owner       string       `json:"Owner"`
	Anchor      *string      `json:"Anchor"`
	From        string       `json:"From"`
	ForwardedBy string       `json:"Forwarded-By,omitempty"`
	Tags        []ans104.Tag `json:"Tags"`
	Message     string       `json:"Message,omitempty"`
	Target      string       `json:"Target,omitempty"`
	Epoch       uint64       `json:"Epoch"`
	Nonce       uint64       `json:"Nonce"`
	Timestamp   int64        `json:"Timestamp"`
	BlockHeight uint64       `json:"Block-Height"`
	HashChain   string       `json:"Hash-Chain"`
	Cron        bool         `json:"Cron"`
}

// MessageJSON builds the message for e as the reference CU does (see messageJSON). Tags named From
// or Owner are dropped, as the reference CU strips them: only the scheduler decides who a message
// is from. The module id is not part of the message (the env carries it); the parameter stays for
// the callers.
func MessageJSON(e *Entry, _ ans104.ID) ([]byte, error) {
	a := e.Assignment
	m := messageJSON{
		Epoch: a.Epoch, Nonce: a.Nonce, Timestamp: a.Timestamp, BlockHeight: a.BlockHeight,
		HashChain: a.HashChain.String(), Target: a.Process.String(), Tags: []ans104.Tag{},
	}
	if !a.Message.IsZero() { // the assignment's Message tag (absent on the process's own)
		m.Message = a.Message.String()
	}
	if d := e.Message; d != nil {
		m.ID = d.ID().String()
		m.Signature = ans104.EncodeB64(d.Signature)
		m.Data = lossyUTF8(d.Data)
		m.Owner = d.OwnerAddress()
		m.Anchor = anchorText(d.Anchor)
		m.From = m.Owner
		if d.ID() != a.Process {
			// A message keeps its own Target, as the reference CU hydrates an assigned message
			// (Target: the assigned transaction's recipient). A scheduled message targets the
			// process anyway; an assigned one may name another process, or none, which is what
			// lets a process refuse assignments it did not ask for.
			m.Target = ""
			if len(d.Target) > 0 {
				m.Target = d.TargetID().String()
			}
		}
		if fp := d.Tags.Value("From-Process"); fp != "" {
			m.From = fp
			m.ForwardedBy = m.Owner
		}
		for _, t := range d.Tags {
			if t.Name != "From" && t.Name != "Owner" {
				m.Tags = append(m.Tags, t)
			}
		}
		if info, ok := tickOf(e); ok {
			// A cron tick: the module sees the reference's cron message (From and Owner the
			// process owner, only the cron's tags, Cron true).
			m.Owner, m.From, m.ForwardedBy, m.Cron = info.Owner, info.Owner, "", true
			m.Tags = append([]ans104.Tag{}, info.Tags...)
		}
	} else {
		// An assignment whose message is held elsewhere: the module sees the assignment.
		m.ID = a.Message.String()
		m.Target = ""
		if e.AssignmentItem != nil {
			m.Owner = e.AssignmentItem.OwnerAddress()
			m.From = m.Owner
		}
	}
	return json.Marshal(m)
}

// tickOf recognises a cron tick: an item with the tick tags signed by the same key as the
// assignment that schedules it (the node that scheduled the tick made it; nobody else can).
func tickOf(e *Entry) (cron.Info, bool) {
	d, a := e.Message, e.AssignmentItem
	if d == nil || a == nil || d.SignatureType != a.SignatureType || !bytes.Equal(d.Owner, a.Owner) {
		return cron.Info{}, false
	}
	return cron.ParseTick(d)
}

// TickOf reports whether e's message is a cron tick (see MessageJSON) and what it says.
func TickOf(e *Entry) (cron.Info, bool) { return tickOf(e) }

// EnvJSON is the env the reference CU passes: {"Process":{"Id","Owner","Tags"},"Module":{…}}.
func EnvJSON(process, module *ans104.DataItem) ([]byte, error) {
	type ent struct {
		ID    string       `json:"Id"`
		Owner string       `json:"Owner"`
		Tags  []ans104.Tag `json:"Tags"`
	}
	mk := func(d *ans104.DataItem) ent {
		tags := []ans104.Tag(d.Tags)
		if tags == nil {
			tags = []ans104.Tag{}
		}
		return ent{ID: d.ID().String(), Owner: d.OwnerAddress(), Tags: tags}
	}
	env := struct {
		Process ent  `json:"Process"`
		Module  *ent `json:"Module,omitempty"`
	}{Process: mk(process)}
	if module != nil {
		m := mk(module)
		env.Module = &m
	}
	return json.Marshal(env)
}

// DryRunJSON completes a dry-run body as the reference CU does: Target is the process, From is the
// From-Process tag or the Owner, the clock is the latest evaluation's, Read-Only is true.
func DryRunJSON(body []byte, pid ans104.ID, module ans104.ID, timestamp int64, blockHeight uint64) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	owner, _ := m["Owner"].(string)
	from := owner
	if tags, ok := m["Tags"].([]any); ok {
		for _, t := range tags {
			if tm, ok := t.(map[string]any); ok && tm["name"] == "From-Process" {
				if v, ok := tm["value"].(string); ok {
					from = v
				}
			}
		}
	}
	m["Target"] = pid.String()
	m["From"] = from
	m["Module"] = module.String()
	m["Timestamp"] = timestamp
	m["Block-Height"] = blockHeight
	m["Cron"] = false
	m["Read-Only"] = true
	if _, ok := m["Tags"]; !ok {
		m["Tags"] = []any{}
	}
	return json.Marshal(m)
}

func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// anchorText renders a 32-byte anchor as the SU's data does: the bytes as a string when they are
// UTF-8, else base64url; nil (JSON null, as the SU's "anchor": null) when there is none.
func anchorText(a []byte) *string {
	if len(a) == 0 {
		return nil
	}
	s := ans104.EncodeB64(a)
	if utf8.Valid(a) {
		s = string(a)
	}
	return &s
}

// LogEntry is a log entry as it is stored: the signed assignment's bytes and, when the log holds
// it, the message's (persistence.Entry's fields; compute does not read the store).
type LogEntry struct {
	Nonce      uint64
	Assignment []byte
	Message    []byte    // the message item's bytes; nil when the log holds only its id
	MessageID  ans104.ID // zero at nonce 0: the message is the Process item
}

// EntryOf turns a stored log entry into what MessageJSON needs, as every evaluator of a log (a
// node's, recovery's, verify's) must: the assignment parsed; the message being the Process item at
// nonce 0, else msg when the caller already holds it parsed, else the entry's own bytes, else
// (an assignment of a message held elsewhere) what find returns, which may be nil: the module then
// sees the bare assignment.
func EntryOf(le LogEntry, proc, msg *ans104.DataItem, find func(ans104.ID) *ans104.DataItem) (*Entry, error) {
	asgItem, err := ans104.Parse(le.Assignment, ans104.Limits{})
	if err != nil {
		return nil, fmt.Errorf("assignment %d: %w", le.Nonce, err)
	}
	asg, err := ans104.AsAssignment(asgItem)
	if err != nil {
		return nil, fmt.Errorf("assignment %d: %w", le.Nonce, err)
	}
	e := &Entry{Assignment: asg, AssignmentItem: asgItem, Message: msg}
	switch {
	case le.MessageID.IsZero():
		e.Message = proc
	case e.Message != nil:
	case len(le.Message) > 0:
		if e.Message, err = ans104.Parse(le.Message, ans104.Limits{}); err != nil {
			return nil, fmt.Errorf("message %d: %w", le.Nonce, err)
		}
	case find != nil:
		e.Message = find(le.MessageID)
	}
	return e, nil
}
