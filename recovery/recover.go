package recovery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/persistence"
)

// Report says what a recovery did.
type Report struct {
	Process        ans104.ID
	Source         string
	Entries        uint64 // log entries on the gateway, all written locally
	Batches        int
	Scheduler      string // the process's Scheduler tag
	Module         ans104.ID
	ModuleVerified bool
	ModuleNote     string
	Checkpoint     *CheckpointInfo // the checkpoint stored locally; nil if none was usable
	Skipped        []string        // batches or checkpoints left out, and why
	Duration       time.Duration
}

// CheckpointInfo is a checkpoint read back and checked.
type CheckpointInfo struct {
	ID       string
	Nonce    uint64
	SHA256   [32]byte
	Verified bool // its signature verifies (see Rebuilt.Verified)
	Note     string
	Memory   []byte `json:"-"`
	Tags     *ans104.Checkpoint
}

// ErrAlreadyHeld: the store already has the process.
var ErrAlreadyHeld = errors.New("the process is already held locally")

// Recover rebuilds process pid from src alone into st: the module (as a standalone item), the
// process record, the whole log in nonce order (signatures and hash chain checked by Walk, epochs
// raised with SetEpoch as the log's epochs rise) and the newest usable checkpoint (its memory
// checked against its SHA-256 tag and its Hash-Chain tag against the log). The node then resumes
// scheduling after the last recovered nonce: its scheduler reads the head of the log as after a
// restart. A log up to Options.MaxBufferBytes is read and checked whole before anything is
// written; a longer one is written as it is read under a durable "recovering" mark (the node does
// not serve a marked process; the next Recover resumes after what was written).
//
// Evaluation is not touched: the evaluation cursor stays at 0, so the node recomputes every result
// (deterministic, docs/design.md invariant 3) and can serve them all; the checkpoint only shortens later
// restarts.
func Recover(ctx context.Context, src Source, st *persistence.Store, pid ans104.ID, o Options) (*Report, error) {
	o = o.withDefaults()
	start := time.Now()
	// resume: entries already written by a recovery that did not finish (crash, gateway failure on a
	// log too large to hold): they are checked against the gateway's and not written again.
	var resume uint64
	var epoch uint64
	if p, err := st.Process(pid); err == nil {
		unfinished, err := st.Recovering(pid)
		if err != nil {
			return nil, err
		}
		if !unfinished {
			return nil, fmt.Errorf("recovery: process %s: %w", pid, ErrAlreadyHeld)
		}
		epoch = p.Epoch
		if head, ok, err := st.Head(pid); err != nil {
			return nil, err
		} else if ok {
			resume = head.Nonce + 1
		}
		o.Logger.Info("resuming an unfinished recovery", "process", pid, "entries_held", resume)
	} else if !errors.Is(err, persistence.ErrNotFound) {
		return nil, err
	}
	rep := &Report{Process: pid, Source: src.Name()}
	cps, err := src.Checkpoints(ctx, pid)
	if err != nil {
		return nil, err
	}
	keep := map[uint64]bool{}
	for _, c := range cps {
		keep[c.Checkpoint.Nonce] = true
	}
	write := func(entries []Entry) error {
		for len(entries) > 0 && entries[0].Nonce() < resume {
			local, err := st.Entry(pid, entries[0].Nonce())
			if err != nil {
				return err
			}
			if local.AssignmentID != entries[0].AssignmentItem.ID() {
				return fmt.Errorf("recovery: process %s: the entry %d held from an unfinished recovery is assignment %s, the gateway now has %s",
					pid, local.Nonce, ans104.ID(local.AssignmentID), entries[0].AssignmentItem.ID())
			}
			entries = entries[1:]
		}
		if len(entries) == 0 {
			return nil
		}
		if entries[0].Nonce() == 0 {
			// From here until SetRecovering(false) the process is incomplete: a crash leaves it
			// marked, and the next ask resumes instead of serving half a log.
			if err := st.SetRecovering(ctx, pid, true); err != nil {
				return err
			}
			if err := registerProcess(ctx, src, st, pid, entries[0], rep); err != nil {
				return err
			}
			epoch = entries[0].Assignment.Epoch
		}
		// One AppendBatch per run of equal epochs: the store takes an entry only at the process's
		// current epoch, so a rise is made durable (SetEpoch) before the entries that carry it.
		for len(entries) > 0 {
			n := 1
			for n < len(entries) && entries[n].Assignment.Epoch == entries[0].Assignment.Epoch {
				n++
			}
			if e := entries[0].Assignment.Epoch; e != epoch {
				if err := st.SetEpoch(ctx, pid, e); err != nil {
					return err
				}
				epoch = e
			}
			run := make([]persistence.Entry, n)
			for i, e := range entries[:n] {
				run[i] = toStoreEntry(pid, e)
			}
			// These entries come from Arweave: the flush cursor passes them before they land.
			if err := st.SetFlushedFromArweave(ctx, pid, run[n-1].Nonce+1); err != nil {
				return err
			}
			if err := st.AppendBatch(ctx, pid, run); err != nil {
				return fmt.Errorf("recovery: writing nonces %d..%d of process %s: %w", run[0].Nonce, run[n-1].Nonce, pid, err)
			}
			entries = entries[n:]
		}
		return nil
	}
	// The whole log is checked before anything is written when it fits in MaxBufferBytes (the
	// usual case): a gateway with a bad batch then leaves nothing behind. A longer log is written
	// as it is read, under the recovering mark.
	var pending [][]Entry
	var buffered int
	streaming := false
	res, err := Walk(ctx, src, pid, o, keep, func(entries []Entry) error {
		if streaming {
			return write(entries)
		}
		pending = append(pending, entries)
		for _, e := range entries {
			buffered += len(e.AssignmentItem.Bytes())
			if e.Message != nil {
				buffered += len(e.Message.Bytes())
			}
		}
		if buffered <= o.MaxBufferBytes {
			return nil
		}
		streaming = true
		o.Logger.Info("long log: writing it as it is read", "process", pid, "buffer_limit", o.MaxBufferBytes)
		for _, es := range pending {
			if err := write(es); err != nil {
				return err
			}
		}
		pending = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, es := range pending {
		if err := write(es); err != nil {
			return nil, err
		}
	}
	rep.Entries, rep.Batches, rep.Skipped = res.Entries, res.Batches, res.Skipped
	if rep.Module.IsZero() && res.Process != nil { // resumed after the process was registered
		rep.Scheduler, rep.Module = res.Process.Scheduler, res.Process.Module
	}
	cp, skipped := BestCheckpoint(ctx, src, pid, res, cps, o)
	rep.Skipped = append(rep.Skipped, skipped...)
	if cp != nil {
		if _, err := st.PutCheckpointFromArweave(persistence.Checkpoint{Process: pid, Nonce: cp.Nonce, Timestamp: cp.Tags.Timestamp,
			BlockHeight: cp.Tags.BlockHeight, SHA256: cp.SHA256, Memory: cp.Memory}); err != nil {
			return nil, fmt.Errorf("recovery: storing checkpoint %d of process %s: %w", cp.Nonce, pid, err)
		}
		cp.Memory = nil
		rep.Checkpoint = cp
	}
	if err := st.SetRecovering(ctx, pid, false); err != nil {
		return nil, err
	}
	rep.Duration = time.Since(start)
	o.Logger.Info("process recovered from the gateway", "process", pid, "gateway", src.Name(), "entries", rep.Entries,
		"batches", rep.Batches, "checkpoint", checkpointNonce(rep.Checkpoint), "duration", rep.Duration.Round(time.Millisecond))
	return rep, nil
}

func checkpointNonce(c *CheckpointInfo) any {
	if c == nil {
		return "none"
	}
	return c.Nonce
}

func toStoreEntry(pid ans104.ID, e Entry) persistence.Entry {
	a := e.Assignment
	out := persistence.Entry{Process: pid, Nonce: a.Nonce, Epoch: a.Epoch, Timestamp: a.Timestamp, BlockHeight: a.BlockHeight,
		HashChain: a.HashChain, AssignmentID: e.AssignmentItem.ID(), Assignment: e.AssignmentItem.Bytes(), MessageID: a.Message}
	// The process's own entry keeps no message: the Process item lives in the registry (as a spawn
	// writes it).
	if e.Message != nil && !a.Message.IsZero() {
		out.Message = e.Message.Bytes()
	}
	return out
}

// registerProcess writes the module and the process record once the first entry (the process's
// own assignment, carrying the Process item) is known.
func registerProcess(ctx context.Context, src Source, st *persistence.Store, pid ans104.ID, first Entry, rep *Report) error {
	proc, err := ans104.AsProcess(first.Message)
	if err != nil {
		return err
	}
	rep.Scheduler, rep.Module = proc.Scheduler, proc.Module
	// A module the node already holds (published to it, or recovered with another process) is not
	// downloaded again: modules are large and shared by many processes.
	if held, err := st.GetItem(proc.Module); err == nil {
		d, err := ans104.Parse(held.Raw, ans104.Limits{})
		if err != nil {
			return fmt.Errorf("recovery: module %s held locally: %w", proc.Module, err)
		}
		rep.ModuleVerified = d.Verify() == nil
		if !rep.ModuleVerified {
			rep.ModuleNote = "held locally, recovered earlier with its data trusted from the gateway"
		}
	} else if errors.Is(err, persistence.ErrNotFound) {
		mod, err := FetchModule(ctx, src, proc.Module)
		if err != nil {
			return err
		}
		rep.ModuleVerified, rep.ModuleNote = mod.Verified, mod.Note
		if err := putItem(ctx, st, mod.Item, first.Assignment.Timestamp, first.Assignment.BlockHeight); err != nil {
			return fmt.Errorf("recovery: storing module %s: %w", proc.Module, err)
		}
	} else {
		return err
	}
	item := first.Message
	rec := persistence.Process{ID: pid, ModuleID: proc.Module, Owner: item.Owner, Item: item.Bytes(),
		Timestamp: first.Assignment.Timestamp, BlockHeight: first.Assignment.BlockHeight, Epoch: first.Assignment.Epoch}
	for _, t := range item.Tags {
		rec.Tags = append(rec.Tags, persistence.Tag{Name: t.Name, Value: t.Value})
	}
	if err := st.PutProcess(ctx, rec); err != nil {
		return err
	}
	if _, err := st.GetItem(pid); err == nil {
		return nil
	}
	return putItem(ctx, st, item, rec.Timestamp, rec.BlockHeight)
}

func putItem(ctx context.Context, st *persistence.Store, d *ans104.DataItem, ts int64, height uint64) error {
	tags := make([]persistence.Tag, len(d.Tags))
	for i, t := range d.Tags {
		tags[i] = persistence.Tag{Name: t.Name, Value: t.Value}
	}
	return st.PutItemFromArweave(ctx, persistence.Item{ID: d.ID(), Raw: d.Bytes(), Owner: d.OwnerAddress(), Tags: tags,
		Timestamp: ts, BlockHeight: height})
}

// FetchModule reads a Module item back from src and checks it is one.
func FetchModule(ctx context.Context, src Source, id ans104.ID) (*Rebuilt, error) {
	f, err := src.Fields(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("recovery: module %s: %w", id, err)
	}
	data, err := src.Data(ctx, id.String())
	if err != nil {
		return nil, fmt.Errorf("recovery: module %s: %w", id, err)
	}
	mod, err := RebuildItem(id, *f, data)
	if err != nil {
		return nil, err
	}
	if _, err := ans104.AsModule(mod.Item); err != nil {
		return nil, fmt.Errorf("recovery: module %s: %w", id, err)
	}
	return mod, nil
}

// BestCheckpoint picks the newest checkpoint that fits the log just read: signed by the process's
// Scheduler, of this process and module, at a nonce the log has, with the Hash-Chain tag of that
// entry, and whose data decompresses to memory matching its SHA-256 tag. Ones that fail are
// reported in skipped, and the next older one is tried.
func BestCheckpoint(ctx context.Context, src Source, pid ans104.ID, w *WalkResult, cps []CheckpointRef, o Options) (*CheckpointInfo, []string) {
	o = o.withDefaults()
	sort.Slice(cps, func(i, j int) bool { return cps[i].Checkpoint.Nonce > cps[j].Checkpoint.Nonce })
	var skipped []string
	for _, c := range cps {
		info, err := CheckCheckpoint(ctx, src, pid, w, c, o)
		if err != nil {
			skipped = append(skipped, err.Error())
			o.Logger.Warn("checkpoint not usable", "process", pid, "err", err)
			continue
		}
		return info, skipped
	}
	return nil, skipped
}

// CheckCheckpoint fetches one checkpoint and checks it against the log walked (see BestCheckpoint).
func CheckCheckpoint(ctx context.Context, src Source, pid ans104.ID, w *WalkResult, c CheckpointRef, o Options) (*CheckpointInfo, error) {
	o = o.withDefaults()
	cp := c.Checkpoint
	fail := func(format string, a ...any) (*CheckpointInfo, error) {
		return nil, fmt.Errorf("checkpoint %s (nonce %d): %s", c.Fields.ID, cp.Nonce, fmt.Sprintf(format, a...))
	}
	switch {
	case cp.Process != pid:
		return fail("is for process %s", cp.Process)
	case w.Process != nil && cp.Module != w.Process.Module:
		return fail("names module %s, the process runs %s", cp.Module, w.Process.Module)
	case cp.Nonce >= w.Entries:
		return fail("is past the end of the log on the gateway (%d entries)", w.Entries)
	case w.Process != nil && c.Owner != w.Process.Scheduler:
		return fail("is signed by %s, not by the process's Scheduler %s", c.Owner, w.Process.Scheduler)
	case cp.Encoding != "zstd":
		return fail("Content-Encoding %q, only zstd is read", cp.Encoding)
	}
	if link, ok := w.Links[cp.Nonce]; ok && cp.HashChain != link.String() {
		return fail("Hash-Chain tag %s, the log's entry has %s", cp.HashChain, link)
	}
	id, err := ans104.ParseID(c.Fields.ID)
	if err != nil {
		return fail("bad id")
	}
	data, err := src.Data(ctx, c.Fields.ID)
	if err != nil {
		return fail("%v", err)
	}
	rb, err := RebuildItem(id, c.Fields, data)
	if err != nil {
		return fail("%v", err)
	}
	mem, err := Decompress(data, o.MaxMemoryBytes)
	if err != nil {
		return fail("%v", err)
	}
	sum := sha256.Sum256(mem)
	if err := CheckpointMemory(cp, mem, sum); err != nil {
		return fail("%v", err)
	}
	return &CheckpointInfo{ID: c.Fields.ID, Nonce: cp.Nonce, SHA256: sum, Verified: rb.Verified, Note: rb.Note, Memory: mem, Tags: cp}, nil
}

// Decompress reads a zstd frame, refusing more than max bytes of output.
func Decompress(z []byte, max uint64) ([]byte, error) {
	d, err := zstd.NewReader(bytes.NewReader(z), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(max))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(d, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("zstd: %w", err)
	}
	if uint64(n) > max {
		return nil, fmt.Errorf("memory is over the %d-byte limit", max)
	}
	return buf.Bytes(), nil
}
