package messenger

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/actorweave/actorweave/ans104"
)

// Source is the evaluation whose outbox is being pushed.
type Source struct {
	Process   ans104.ID
	Module    ans104.ID
	Message   ans104.ID // the evaluated message (its id, or its assignment id when assignment-only)
	PushedFor ans104.ID // the user message that started the cascade; zero for cron ticks
	Scheduler string    // the address spawned processes get when they name no Scheduler
}

// PushedForOf is the Pushed-For of a cascade: the message's own Pushed-For tag when it was pushed,
// else the message itself (a user message starts a cascade).
func PushedForOf(msg *ans104.DataItem) ans104.ID {
	if msg == nil {
		return ans104.ID{}
	}
	if v := msg.Tags.Value("Pushed-For"); v != "" {
		if id, err := ans104.ParseID(v); err == nil {
			return id
		}
	}
	return msg.ID()
}

// Kind of a push.
type Kind uint8

const (
	KindMessage Kind = iota + 1 // a message item scheduled on Target
	KindSpawn                   // a process item; Target is its own id
	KindSpawned                 // the Spawned notice to the parent
	KindAssign                  // assign Message to Target
)

func (k Kind) String() string {
	switch k {
	case KindMessage:
		return "message"
	case KindSpawn:
		return "spawn"
	case KindSpawned:
		return "spawned"
	case KindAssign:
		return "assign"
	}
	return "unknown"
}

// Push is one thing to deliver, in outbox order.
type Push struct {
	Kind    Kind
	Target  ans104.ID        // the process that receives it
	Item    *ans104.DataItem // signed item (nil for KindAssign)
	Message ans104.ID        // KindAssign: the message to assign
	Exclude []string         // KindAssign
}

// Rejected is an outbox entry that cannot be pushed, with the reason (kept in the result's log).
type Rejected struct {
	Kind     string
	Position int
	Reason   string
}

type outMessage struct {
	Module string            `json:"Module"` // spawns: some runtimes name the module here, not in a tag
	Target string            `json:"Target"`
	Anchor string            `json:"Anchor"`
	Tags   []json.RawMessage `json:"Tags"`
	Data   json.RawMessage   `json:"Data"`
}

type outAssignment struct {
	Processes []string `json:"Processes"`
	Message   string   `json:"Message"`
	BaseLayer bool     `json:"BaseLayer"`
	Exclude   []string `json:"Exclude"`
}

// Plan turns an outbox into signed pushes. Entries that cannot be pushed (no valid Target, tags that
// are not {name, value} strings, a spawn without Module) are returned as Rejected, not dropped
// silently. Unlike the reference messenger, messages without an Anchor are delivered: they get an
// anchor derived from the source and their position.
func Plan(src Source, messages, spawns, assignments []json.RawMessage, signer ans104.Signer) ([]Push, []Rejected, error) {
	var pushes []Push
	var rejected []Rejected
	for i, raw := range messages {
		p, reason, err := planMessage(src, i, raw, signer)
		if err != nil {
			return nil, nil, err
		}
		if reason != "" {
			rejected = append(rejected, Rejected{Kind: "message", Position: i, Reason: reason})
			continue
		}
		pushes = append(pushes, p)
	}
	for i, raw := range spawns {
		ps, reason, err := planSpawn(src, i, raw, signer)
		if err != nil {
			return nil, nil, err
		}
		if reason != "" {
			rejected = append(rejected, Rejected{Kind: "spawn", Position: i, Reason: reason})
			continue
		}
		pushes = append(pushes, ps...)
	}
	for i, raw := range assignments {
		var a outAssignment
		if err := json.Unmarshal(raw, &a); err != nil {
			rejected = append(rejected, Rejected{Kind: "assignment", Position: i, Reason: "not {Processes, Message}: " + err.Error()})
			continue
		}
		msg, err := ans104.ParseID(a.Message)
		if err != nil {
			rejected = append(rejected, Rejected{Kind: "assignment", Position: i, Reason: "Message: " + err.Error()})
			continue
		}
		if a.BaseLayer {
			rejected = append(rejected, Rejected{Kind: "assignment", Position: i, Reason: "base-layer assignments need an Arweave node"})
			continue
		}
		for _, p := range a.Processes {
			pid, err := ans104.ParseID(p)
			if err != nil {
				rejected = append(rejected, Rejected{Kind: "assignment", Position: i, Reason: "Processes: " + err.Error()})
				continue
			}
			pushes = append(pushes, Push{Kind: KindAssign, Target: pid, Message: msg, Exclude: a.Exclude})
		}
	}
	return pushes, rejected, nil
}

func planMessage(src Source, pos int, raw json.RawMessage, signer ans104.Signer) (Push, string, error) {
	var m outMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Push{}, "not a message object: " + err.Error(), nil
	}
	target, err := ans104.ParseID(m.Target)
	if err != nil {
		return Push{}, fmt.Sprintf("Target %q is not a process id", m.Target), nil
	}
	tags, reason := parseTags(m.Tags)
	if reason != "" {
		return Push{}, reason, nil
	}
	out := filterTags(tags, "Data-Protocol", "Type", "From-Process", "From-Module", "Assignments", "Pushed-For")
	out = append(out,
		ans104.Tag{Name: "Data-Protocol", Value: "ao"},
		ans104.Tag{Name: "Type", Value: "Message"},
	)
	out = append(out, src.provenance()...)
	if !hasTag(out, "Variant") {
		out = append(out, ans104.Tag{Name: "Variant", Value: ans104.VariantLegacynet})
	}
	item := ans104.NewItem(dataOf(m.Data), target[:], anchorFor(m.Anchor, src, 'm', pos), out)
	if err := item.Sign(signer); err != nil {
		return Push{}, "", err
	}
	return Push{Kind: KindMessage, Target: target, Item: item}, "", nil
}

func planSpawn(src Source, pos int, raw json.RawMessage, signer ans104.Signer) ([]Push, string, error) {
	var m outMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "not a spawn object: " + err.Error(), nil
	}
	tags, reason := parseTags(m.Tags)
	if reason != "" {
		return nil, reason, nil
	}
	if _, ok := ans104.Tags(tags).Get("Module"); !ok {
		if m.Module == "" {
			return nil, "spawn names no module (no Module tag or field)", nil
		}
		tags = append(tags, ans104.Tag{Name: "Module", Value: m.Module})
	}
	variant := ans104.VariantLegacynet
	if v := ans104.Tags(tags).Value("Variant"); v == ans104.VariantMainnet {
		variant = v
	}
	out := filterTags(tags, "Data-Protocol", "Type", "Variant", "From-Process", "From-Module", "Pushed-For")
	out = append(out,
		ans104.Tag{Name: "Variant", Value: variant},
		ans104.Tag{Name: "Data-Protocol", Value: "ao"},
		ans104.Tag{Name: "Type", Value: "Process"},
	)
	out = append(out, src.provenance()...)
	if !hasTag(out, "Scheduler") {
		out = append(out, ans104.Tag{Name: "Scheduler", Value: src.Scheduler})
	}
	child := ans104.NewItem(dataOf(m.Data), nil, anchorFor(m.Anchor, src, 's', pos), out)
	if err := child.Sign(signer); err != nil {
		return nil, "", err
	}
	childID := child.ID()

	// The Spawned notice: the child's tags minus the protocol ones, plus Type Message, Process and
	// Action Spawned. It keeps From-Process = parent, so the parent sees From == itself.
	notice := filterTags(out, "Data-Protocol", "Variant", "Type")
	notice = append(notice,
		ans104.Tag{Name: "Data-Protocol", Value: "ao"},
		ans104.Tag{Name: "Type", Value: "Message"},
		ans104.Tag{Name: "Process", Value: childID.String()},
		ans104.Tag{Name: "Action", Value: "Spawned"},
		ans104.Tag{Name: "Variant", Value: variant},
	)
	n := ans104.NewItem([]byte(" "), src.Process[:], DerivedAnchor(src.Message, 'n', pos), notice)
	if err := n.Sign(signer); err != nil {
		return nil, "", err
	}
	return []Push{
		{Kind: KindSpawn, Target: childID, Item: child},
		{Kind: KindSpawned, Target: src.Process, Item: n},
	}, "", nil
}

// provenance is what every pushed item says of where it comes from: From-Process, From-Module and,
// when the cascade started with a user message, Pushed-For.
func (src Source) provenance() []ans104.Tag {
	tags := []ans104.Tag{{Name: "From-Process", Value: src.Process.String()}, {Name: "From-Module", Value: src.Module.String()}}
	if !src.PushedFor.IsZero() {
		tags = append(tags, ans104.Tag{Name: "Pushed-For", Value: src.PushedFor.String()})
	}
	return tags
}

// anchorFor keeps the outbox entry's own 32-byte anchor, or derives one.
func anchorFor(own string, src Source, kind byte, pos int) []byte {
	if len(own) == 32 {
		return []byte(own)
	}
	return DerivedAnchor(src.Message, kind, pos)
}

// DerivedAnchor is a 32-character ASCII anchor that is a function of the source message, the kind
// of outbox entry and its position, so that items without an anchor of their own still differ.
func DerivedAnchor(src ans104.ID, kind byte, pos int) []byte {
	h := sha256.Sum256(append(append(src[:], kind), []byte(strconv.Itoa(pos))...))
	return []byte(ans104.EncodeB64(h[:])[:32])
}

func parseTags(raw []json.RawMessage) ([]ans104.Tag, string) {
	tags := make([]ans104.Tag, 0, len(raw))
	for i, r := range raw {
		var t struct {
			Name  *string `json:"name"`
			Value *string `json:"value"`
		}
		if err := json.Unmarshal(r, &t); err != nil || t.Name == nil || t.Value == nil {
			return nil, fmt.Sprintf("tag %d is not {name: string, value: string}", i)
		}
		if *t.Name == "" {
			return nil, fmt.Sprintf("tag %d has an empty name", i)
		}
		tags = append(tags, ans104.Tag{Name: *t.Name, Value: *t.Value})
	}
	return tags, ""
}

func filterTags(tags []ans104.Tag, drop ...string) []ans104.Tag {
	out := make([]ans104.Tag, 0, len(tags)+6)
	for _, t := range tags {
		keep := true
		for _, d := range drop {
			if t.Name == d {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, t)
		}
	}
	return out
}

func hasTag(tags []ans104.Tag, name string) bool {
	_, ok := ans104.Tags(tags).Get(name)
	return ok
}

// dataOf is the outbox Data as bytes: a JSON string's value, any other JSON value as its text, and
// a single space when empty (as aoconnect and the reference messenger send it).
func dataOf(raw json.RawMessage) []byte {
	var s string
	if len(raw) == 0 || string(raw) == "null" {
		return []byte(" ")
	}
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return []byte(" ")
		}
		return []byte(s)
	}
	return raw
}
