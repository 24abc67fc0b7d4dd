package ans104

import (
	"fmt"
	"strconv"
	"strings"
)

// AO item kinds, the values of the Type tag.
const (
	KindProcess    = "Process"
	KindMessage    = "Message"
	KindModule     = "Module"
	KindAssignment = "Assignment"
	KindCheckpoint = "Checkpoint"
)

// Variants of the AO data protocol.
const (
	VariantLegacynet = "ao.TN.1"
	VariantMainnet   = "ao.N.1"
)

// Kind returns the item's Type tag: the first one, as the MU decides. The SU also accepts a
// lower-case "type" tag; so do we.
func Kind(d *DataItem) (string, error) {
	for _, t := range d.Tags {
		if t.Name == "Type" || t.Name == "type" {
			return t.Value, nil
		}
	}
	return "", &TagError{Kind: "data", Tag: "Type"}
}

// checkAO applies the rules every AO item follows: Data-Protocol is "ao", and no tag name or value
// ends in "+link" (the SU refuses those).
func checkAO(kind string, d *DataItem) error {
	dp, ok := d.Tags.Get("Data-Protocol")
	if !ok {
		dp, ok = d.Tags.Get("data-protocol")
	}
	if !ok {
		return &TagError{Kind: kind, Tag: "Data-Protocol"}
	}
	if dp != "ao" {
		return &TagError{Kind: kind, Tag: "Data-Protocol", Reason: fmt.Sprintf("value is %q, must be \"ao\"", clip(dp))}
	}
	for _, t := range d.Tags {
		if strings.HasSuffix(t.Name, "+link") || strings.HasSuffix(t.Value, "+link") {
			return &TagError{Kind: kind, Tag: t.Name, Reason: "tags cannot end in +link"}
		}
	}
	return nil
}

func requireKind(want string, d *DataItem) error {
	k, err := Kind(d)
	if err != nil {
		return &TagError{Kind: want, Tag: "Type"}
	}
	if k != want {
		return &TagError{Kind: want, Tag: "Type", Reason: fmt.Sprintf("value is %q", clip(k))}
	}
	return checkAO(want, d)
}

func requireTag(kind string, d *DataItem, name string) (string, error) {
	v, ok := d.Tags.Get(name)
	if !ok {
		return "", &TagError{Kind: kind, Tag: name}
	}
	return v, nil
}

func requireIDTag(kind string, d *DataItem, name string) (ID, error) {
	v, err := requireTag(kind, d, name)
	if err != nil {
		return ID{}, err
	}
	id, err := ParseID(v)
	if err != nil {
		return ID{}, &TagError{Kind: kind, Tag: name, Reason: "not a 43-character base64url id"}
	}
	return id, nil
}

// Cron is one Cron-Interval tag of a process with the Cron-Tag-* tags that follow it.
type Cron struct {
	Interval string
	Tags     []Tag
}

// Process is the typed view of a Process (spawn) item.
type Process struct {
	Item         *DataItem
	Module       ID
	Scheduler    string
	Variant      string
	MemoryLimit  string // "" when absent (the module's then applies)
	ComputeLimit string
	Crons        []Cron
}

// AsProcess checks that d is a well-formed AO Process item and returns its typed view.
func AsProcess(d *DataItem) (*Process, error) {
	if err := requireKind(KindProcess, d); err != nil {
		return nil, err
	}
	p := &Process{Item: d, Variant: variant(d)}
	var err error
	if p.Module, err = requireIDTag(KindProcess, d, "Module"); err != nil {
		return nil, err
	}
	if p.Scheduler, err = requireTag(KindProcess, d, "Scheduler"); err != nil {
		return nil, err
	}
	p.MemoryLimit = d.Tags.Value("Memory-Limit")
	p.ComputeLimit = d.Tags.Value("Compute-Limit")
	if p.Crons, err = parseCrons(d.Tags); err != nil {
		return nil, err
	}
	return p, nil
}

// parseCrons follows the CU: each Cron-Interval starts a cron, each Cron-Tag-<Name> after it adds
// <Name> to that cron's messages, and a Cron-Tag before any interval is an error.
func parseCrons(tags Tags) ([]Cron, error) {
	var crons []Cron
	for _, t := range tags {
		switch {
		case t.Name == "Cron-Interval":
			crons = append(crons, Cron{Interval: t.Value})
		case strings.HasPrefix(t.Name, "Cron-Tag-"):
			if len(crons) == 0 {
				return nil, &TagError{Kind: KindProcess, Tag: t.Name, Reason: "a Cron-Tag must follow a Cron-Interval"}
			}
			c := &crons[len(crons)-1]
			c.Tags = append(c.Tags, Tag{Name: strings.TrimPrefix(t.Name, "Cron-Tag-"), Value: t.Value})
		}
	}
	return crons, nil
}

func variant(d *DataItem) string {
	if v, ok := d.Tags.Get("Variant"); ok {
		return v
	}
	return VariantLegacynet
}

// Message is the typed view of a Message item.
type Message struct {
	Item        *DataItem
	Target      ID
	Variant     string
	Action      string
	FromProcess string // set on items a messenger pushed for a process
	PushedFor   string
}

// AsMessage checks that d is a well-formed AO Message item (with a target) and returns its view.
func AsMessage(d *DataItem) (*Message, error) {
	if err := requireKind(KindMessage, d); err != nil {
		return nil, err
	}
	if len(d.Target) != 32 {
		return nil, &TagError{Kind: KindMessage, Tag: "target", Reason: "a Message item needs a target process id"}
	}
	return &Message{
		Item: d, Target: d.TargetID(), Variant: variant(d), Action: d.Tags.Value("Action"),
		FromProcess: d.Tags.Value("From-Process"), PushedFor: d.Tags.Value("Pushed-For"),
	}, nil
}

// Module is the typed view of a Module item (its data is the .wasm).
type Module struct {
	Item           *DataItem
	Format         string
	InputEncoding  string
	OutputEncoding string
	MemoryLimit    string
	ComputeLimit   string
}

// AsModule checks that d is a well-formed AO Module item and returns its view.
func AsModule(d *DataItem) (*Module, error) {
	if err := requireKind(KindModule, d); err != nil {
		return nil, err
	}
	m := &Module{Item: d, MemoryLimit: d.Tags.Value("Memory-Limit"), ComputeLimit: d.Tags.Value("Compute-Limit")}
	var err error
	if m.Format, err = requireTag(KindModule, d, "Module-Format"); err != nil {
		return nil, err
	}
	if m.InputEncoding, err = requireTag(KindModule, d, "Input-Encoding"); err != nil {
		return nil, err
	}
	if m.OutputEncoding, err = requireTag(KindModule, d, "Output-Encoding"); err != nil {
		return nil, err
	}
	return m, nil
}

// Assignment is what the scheduler decides for one item of a process's log.
type Assignment struct {
	Process     ID
	Epoch       uint64
	Nonce       uint64
	HashChain   ID
	BlockHeight uint64
	Timestamp   int64 // milliseconds since the epoch
	Message     ID    // zero for the process's own assignment
	Exclude     []string
}

// Tags renders the assignment's tags exactly as the reference scheduler orders them (docs/protocol.md
// §2.3): Process, Epoch, Nonce, Hash-Chain, Block-Height (12 digits), Timestamp, Data-Protocol, Type,
// Variant, then Message (absent for the process's own assignment) and Exclude tags.
func (a *Assignment) Tags() []Tag {
	tags := make([]Tag, 0, 10+len(a.Exclude))
	tags = append(tags,
		Tag{"Process", a.Process.String()},
		Tag{"Epoch", strconv.FormatUint(a.Epoch, 10)},
		Tag{"Nonce", strconv.FormatUint(a.Nonce, 10)},
		Tag{"Hash-Chain", a.HashChain.String()},
		Tag{"Block-Height", FormatBlockHeight(a.BlockHeight)},
		Tag{"Timestamp", strconv.FormatInt(a.Timestamp, 10)},
		Tag{"Data-Protocol", "ao"},
		Tag{"Type", KindAssignment},
		Tag{"Variant", VariantLegacynet},
	)
	if !a.Message.IsZero() {
		tags = append(tags, Tag{"Message", a.Message.String()})
	}
	for _, e := range a.Exclude {
		tags = append(tags, Tag{"Exclude", e})
	}
	return tags
}

// FormatBlockHeight zero-pads a height to 12 digits, as SU tags carry it (longer heights are not
// cut). Every assignment the node signs formats one, so it avoids fmt (about 1% of a node's CPU on
// the acknowledgement path, in a profile of bench cluster).
func FormatBlockHeight(h uint64) string {
	const width = 12
	var buf [20]byte
	b := strconv.AppendUint(buf[:0], h, 10)
	if len(b) >= width {
		return string(b)
	}
	var out [width]byte
	pad := width - len(b)
	for i := range pad {
		out[i] = '0'
	}
	copy(out[pad:], b)
	return string(out[:])
}

// AsAssignment reads an Assignment item's tags back into an Assignment.
func AsAssignment(d *DataItem) (*Assignment, error) {
	if err := requireKind(KindAssignment, d); err != nil {
		return nil, err
	}
	a := &Assignment{}
	var err error
	if a.Process, err = requireIDTag(KindAssignment, d, "Process"); err != nil {
		return nil, err
	}
	if a.HashChain, err = requireIDTag(KindAssignment, d, "Hash-Chain"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  *uint64
	}{{"Epoch", &a.Epoch}, {"Nonce", &a.Nonce}, {"Block-Height", &a.BlockHeight}} {
		v, err := requireTag(KindAssignment, d, f.name)
		if err != nil {
			return nil, err
		}
		if *f.dst, err = strconv.ParseUint(v, 10, 64); err != nil {
			return nil, &TagError{Kind: KindAssignment, Tag: f.name, Reason: fmt.Sprintf("%q is not a non-negative integer", clip(v))}
		}
	}
	ts, err := requireTag(KindAssignment, d, "Timestamp")
	if err != nil {
		return nil, err
	}
	if a.Timestamp, err = strconv.ParseInt(ts, 10, 64); err != nil {
		return nil, &TagError{Kind: KindAssignment, Tag: "Timestamp", Reason: fmt.Sprintf("%q is not an integer", clip(ts))}
	}
	if _, ok := d.Tags.Get("Message"); ok {
		if a.Message, err = requireIDTag(KindAssignment, d, "Message"); err != nil {
			return nil, err
		}
	}
	a.Exclude = d.Tags.All("Exclude")
	return a, nil
}

// Checkpoint is the typed view of a Checkpoint item: a process's linear memory after Nonce.
type Checkpoint struct {
	Process     ID
	Module      ID
	Nonce       uint64
	Timestamp   int64
	BlockHeight uint64
	HashChain   string
	Epoch       uint64
	SHA256      string // hex SHA-256 of the uncompressed memory
	Encoding    string // Content-Encoding of the data (we write zstd, the reference CU gzip)
}

// Tags renders a Checkpoint's tags in the reference CU's order, with our Content-Encoding.
func (c *Checkpoint) Tags() []Tag {
	return []Tag{
		{"Data-Protocol", "ao"},
		{"Variant", VariantLegacynet},
		{"Type", KindCheckpoint},
		{"Module", c.Module.String()},
		{"Process", c.Process.String()},
		{"Nonce", strconv.FormatUint(c.Nonce, 10)},
		{"Timestamp", strconv.FormatInt(c.Timestamp, 10)},
		{"Block-Height", FormatBlockHeight(c.BlockHeight)},
		{"Content-Type", "application/octet-stream"},
		{"SHA-256", c.SHA256},
		{"Content-Encoding", c.Encoding},
		{"Hash-Chain", c.HashChain},
		{"Epoch", strconv.FormatUint(c.Epoch, 10)},
	}
}

// AsCheckpoint reads a Checkpoint item's tags.
func AsCheckpoint(d *DataItem) (*Checkpoint, error) {
	if err := requireKind(KindCheckpoint, d); err != nil {
		return nil, err
	}
	c := &Checkpoint{HashChain: d.Tags.Value("Hash-Chain"), Encoding: d.Tags.Value("Content-Encoding")}
	var err error
	if c.Process, err = requireIDTag(KindCheckpoint, d, "Process"); err != nil {
		return nil, err
	}
	if c.Module, err = requireIDTag(KindCheckpoint, d, "Module"); err != nil {
		return nil, err
	}
	if c.SHA256, err = requireTag(KindCheckpoint, d, "SHA-256"); err != nil {
		return nil, err
	}
	nonce, err := requireTag(KindCheckpoint, d, "Nonce")
	if err != nil {
		return nil, err
	}
	if c.Nonce, err = strconv.ParseUint(nonce, 10, 64); err != nil {
		return nil, &TagError{Kind: KindCheckpoint, Tag: "Nonce", Reason: "not a non-negative integer"}
	}
	c.Timestamp, _ = strconv.ParseInt(d.Tags.Value("Timestamp"), 10, 64)
	c.BlockHeight, _ = strconv.ParseUint(d.Tags.Value("Block-Height"), 10, 64)
	c.Epoch, _ = strconv.ParseUint(d.Tags.Value("Epoch"), 10, 64)
	return c, nil
}
