package arweave

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/actorweave/actorweave/ans104"
)

// Tag names and values of FORMAT.md.
const (
	AppName      = "actorweave"
	TagAppName   = "App-Name"
	TagType      = "Actorweave-Type"
	TypeLogBatch = "Log-Batch"
	TypePadding  = "Padding"
	TagProcess   = "Process"
	TagFromNonce = "From-Nonce"
	TagToNonce   = "To-Nonce"
)

// LogEntry is one log entry as a batch carries it: the assignment and, when the node holds it, the
// message (the Process item for nonce 0).
type LogEntry struct {
	Nonce      uint64
	Assignment []byte // raw signed assignment item
	Message    []byte // raw signed message item; nil for an assignment-only entry
}

// LogBatch builds the unsigned Log-Batch item of process pid carrying entries (consecutive nonces,
// ascending). Sign it with the node key.
func LogBatch(pid ans104.ID, entries []LogEntry) (*ans104.DataItem, error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf("arweave: empty log batch of %s", pid)
	}
	items := make([]*ans104.DataItem, 0, 2*len(entries))
	for i, e := range entries {
		if e.Nonce != entries[0].Nonce+uint64(i) {
			return nil, fmt.Errorf("arweave: log batch of %s is not contiguous at nonce %d", pid, e.Nonce)
		}
		for _, raw := range [][]byte{e.Assignment, e.Message} {
			if raw == nil {
				continue
			}
			it, err := ans104.Parse(raw, ans104.Limits{})
			if err != nil {
				return nil, fmt.Errorf("arweave: entry %d of %s: %w", e.Nonce, pid, err)
			}
			items = append(items, it)
		}
	}
	tags := []ans104.Tag{
		{Name: "Bundle-Format", Value: "binary"},
		{Name: "Bundle-Version", Value: "2.0.0"},
		{Name: TagAppName, Value: AppName},
		{Name: TagType, Value: TypeLogBatch},
		{Name: TagProcess, Value: pid.String()},
		{Name: TagFromNonce, Value: strconv.FormatUint(entries[0].Nonce, 10)},
		{Name: TagToNonce, Value: strconv.FormatUint(entries[len(entries)-1].Nonce, 10)},
		{Name: "Data-Protocol", Value: "ao"},
	}
	return ans104.NewItem(ans104.EncodeBundle(items), nil, nil, tags), nil
}

// BatchRange reads a Log-Batch item's process and nonce range from its tags.
func BatchRange(tags ans104.Tags) (pid ans104.ID, from, to uint64, err error) {
	return nonceRange(tags, TypeLogBatch, "log batch")
}

// nonceRange reads the Process, From-Nonce and To-Nonce tags of an item of type typ.
func nonceRange(tags ans104.Tags, typ, what string) (pid ans104.ID, from, to uint64, err error) {
	if tags.Value(TagType) != typ {
		return pid, 0, 0, fmt.Errorf("arweave: not a %s item", typ)
	}
	if pid, err = ans104.ParseID(tags.Value(TagProcess)); err != nil {
		return pid, 0, 0, fmt.Errorf("arweave: %s Process tag: %w", what, err)
	}
	if from, err = strconv.ParseUint(tags.Value(TagFromNonce), 10, 64); err != nil {
		return pid, 0, 0, fmt.Errorf("arweave: %s From-Nonce: %w", what, err)
	}
	if to, err = strconv.ParseUint(tags.Value(TagToNonce), 10, 64); err != nil || to < from {
		return pid, 0, 0, fmt.Errorf("arweave: %s To-Nonce %q", what, tags.Value(TagToNonce))
	}
	return pid, from, to, nil
}

// BatchEntry is one entry read back from a batch.
type BatchEntry struct {
	Nonce      uint64
	Assignment *ans104.DataItem
	Message    *ans104.DataItem // nil for an assignment-only entry
}

// ParseLogBatch verifies a batch's inner bundle (every signature) and pairs its items into
// entries, checking that the nonces run from..to. pid is the batch's process.
func ParseLogBatch(pid ans104.ID, from, to uint64, bundle []byte) ([]BatchEntry, error) {
	items, err := ans104.VerifyBundle(bundle, ans104.Limits{})
	if err != nil {
		return nil, fmt.Errorf("arweave: log batch %s %d..%d: %w", pid, from, to, err)
	}
	var out []BatchEntry
	for i := 0; i < len(items); i++ {
		asg, err := ans104.AsAssignment(items[i])
		if err != nil {
			return nil, fmt.Errorf("arweave: log batch %s item %d: %w", pid, i, err)
		}
		want := from + uint64(len(out))
		if asg.Process != pid || asg.Nonce != want {
			return nil, fmt.Errorf("arweave: log batch %s item %d is the assignment of %s nonce %d, want nonce %d", pid, i, asg.Process, asg.Nonce, want)
		}
		e := BatchEntry{Nonce: asg.Nonce, Assignment: items[i]}
		msgID := asg.Message
		if asg.Nonce == 0 && msgID.IsZero() {
			msgID = pid
		}
		if i+1 < len(items) && items[i+1].ID() == msgID {
			e.Message = items[i+1]
			i++
		}
		out = append(out, e)
	}
	if uint64(len(out)) != to-from+1 {
		return nil, fmt.Errorf("arweave: log batch %s %d..%d holds %d entries", pid, from, to, len(out))
	}
	return out, nil
}

// CheckpointItem builds the unsigned Checkpoint item: the AO Checkpoint tags plus App-Name, the
// zstd-compressed memory as data.
func CheckpointItem(cp ans104.Checkpoint, sha256 [32]byte, compressed []byte) *ans104.DataItem {
	cp.SHA256 = hex.EncodeToString(sha256[:])
	cp.Encoding = "zstd"
	tags := append(cp.Tags(), ans104.Tag{Name: TagAppName, Value: AppName})
	return ans104.NewItem(compressed, nil, nil, tags)
}
