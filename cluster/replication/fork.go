package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/actorweave/actorweave/cluster/replication/replpb"
	"github.com/actorweave/actorweave/persistence"
)

// verdict is what reconcile does where two logs first differ.
type verdict int

const (
	truncateBackup verdict = iota // the backup's entry has the lower epoch: its tail was never acknowledged
	truncateLocal                 // the local entry has the lower epoch
	forked                        // the same epoch: two owners wrote it, only an operator may choose
)

// judge decides from the two entries at the first differing nonce. Only the epoch rule is safe to
// apply without a person: a later epoch's owner fenced the earlier one, so the earlier tail was
// never acknowledged. Two different entries under one epoch mean two owners both acknowledged
// writes (the partition bug the quorum lease closes): neither history may be dropped.
func judge(local, backup persistence.Entry) verdict {
	switch {
	case local.Epoch > backup.Epoch:
		return truncateBackup
	case backup.Epoch > local.Epoch:
		return truncateLocal
	}
	return forked
}

// forked returns the refusal for pid if this node recorded a fork of it: the activation and every
// write end here at once, instead of fencing and failing the same truncation again and again.
func (r *Replicator) forked(pid persistence.ID) error {
	f, ok, err := r.store.Fork(pid)
	if err != nil {
		return err
	}
	if ok {
		return forkError(&f)
	}
	return nil
}

func forkError(f *persistence.ForkRecord) error { return fmt.Errorf("%w: %s", ErrForked, f.Describe()) }

// markFork records durably that pid's logs here and on backup part at nonce d, and returns the
// refusal. A failure to record still refuses (wrapped ErrForked): nothing is truncated either way.
func (r *Replicator) markFork(ctx context.Context, pid persistence.ID, backup string, d, localCount, backupCount uint64, reason string) error {
	f := persistence.ForkRecord{Process: pid, Nonce: d, Node: r.nodeName(r.self), Peer: r.nodeName(backup),
		NodeCount: localCount, PeerCount: backupCount, Reason: reason, Detected: time.Now()}
	r.stats.Forks.Add(1)
	if err := r.store.MarkForked(ctx, f); err != nil {
		return fmt.Errorf("%w: %s (recording it failed: %v)", ErrForked, f.Describe(), err)
	}
	if stored, ok, err := r.store.Fork(pid); err == nil && ok {
		f = stored // an earlier detection names the fork
	}
	return forkError(&f)
}

// nodeName renders a node's address with its member name when membership knows it.
func (r *Replicator) nodeName(addr string) string {
	if r.cfg.NodeName == nil {
		return addr
	}
	if n := r.cfg.NodeName(addr); n != "" && n != addr {
		return n + " (" + addr + ")"
	}
	return addr
}

// Resolution is what ResolveFork did.
type Resolution struct {
	Process    persistence.ID
	Nonce      uint64 // where the two histories part
	Kept, Lost string // the nodes whose history was kept and dropped
	Archived   uint64 // entries of the lost history moved to the archive on the losing node
	RolledBack uint64 // of those, evaluated entries whose evaluation was rolled back
	// Unscheduled are the lost history's entries whose messages the kept log does not hold, in
	// their old order: the caller schedules them again as new messages.
	Unscheduled []persistence.Entry
}

// ResolveFork settles a fork recorded on this node, pid's owner: the history of keep (this node or
// the backup, by member name or address) becomes the log of both replicas; the other history from
// the first differing nonce on is archived, not deleted, and its evaluation rolled back; both fork
// records are cleared. Only an operator calls it (the resolve-fork command).
func (r *Replicator) ResolveFork(ctx context.Context, pid persistence.ID, keep string) (Resolution, error) {
	l := &r.syncLocks[pid[0]]
	l.Lock()
	defer l.Unlock()
	r.forget(pid)
	res := Resolution{Process: pid}
	rec, ok, err := r.store.Fork(pid)
	if err != nil || !ok {
		return res, orNotForked(err, pid, r.self)
	}
	backups, err := r.backupsOf(pid)
	if err != nil {
		return res, err
	}
	if len(backups) == 0 {
		return res, fmt.Errorf("process %s: %w: a fork is resolved between the owner and its backup", b64(pid), ErrNoBackup)
	}
	// Between this node and the backup the fork was found with (the first backup if that one is
	// no longer in the replica set); the other backups are levelled by the next write's hand-over.
	backup := backups[0]
	for _, b := range backups {
		if r.nodeName(b) == rec.Peer {
			backup = b
		}
	}
	keepSelf, err := r.keeps(keep, backup)
	if err != nil {
		return res, err
	}
	local, err := r.store.State(ctx, pid)
	if err != nil {
		return res, err
	}
	rep, err := r.call(ctx, backup, &replpb.Fence{Process: pid[:], MinEpoch: local.Epoch + 1, From: r.self})
	if err != nil {
		return res, fmt.Errorf("process %s: %w", b64(pid), err)
	}
	if rep.Code != replpb.Code_OK {
		return res, fmt.Errorf("process %s: fence on %s: %s", b64(pid), backup, rep.Detail)
	}
	epoch := rep.Epoch
	if err := r.claim(ctx, pid, local.Epoch, epoch); err != nil {
		return res, err
	}
	w := &logWalk{r: r, ctx: ctx, pid: pid, backup: backup, rep: rep, remote: map[uint64]persistence.Entry{}}
	d, _, _, differ, err := w.firstDifference(min(local.Count, rep.Count))
	if err != nil {
		return res, err
	}
	if !differ {
		d = min(local.Count, rep.Count) // one log is a prefix of the other: the longer one's tail differs
	}
	res.Nonce = d
	var lost []persistence.Entry
	if keepSelf {
		res.Kept, res.Lost = r.nodeName(r.self), r.nodeName(backup)
		lost, err = r.discardBackup(ctx, pid, backup, epoch, d, rep.Count, &res)
	} else {
		res.Kept, res.Lost = r.nodeName(backup), r.nodeName(r.self)
		lost, err = r.discardLocal(ctx, pid, backup, epoch, d, rep.Count, &res)
	}
	if err != nil {
		return res, err
	}
	if err := r.store.AppendReplicated(ctx, pid, epoch, nil); err != nil {
		return res, err
	}
	if res.Unscheduled, err = r.notIn(pid, lost); err != nil {
		return res, err
	}
	if err := r.store.ClearFork(ctx, pid); err != nil {
		return res, err
	}
	if len(backups) == 1 {
		r.remember(pid, syncState{epoch: epoch, backups: backups})
	}
	return res, nil
}

func orNotForked(err error, pid persistence.ID, self string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("process %s is not recorded as forked on %s (run resolve-fork against the node that reported the fork, its owner): %w", b64(pid), self, persistence.ErrNotFound)
}

// keeps reports whether keep names this node (true) or the backup (false).
func (r *Replicator) keeps(keep, backup string) (bool, error) {
	is := func(addr string) bool {
		return keep == addr || (r.cfg.NodeName != nil && keep == r.cfg.NodeName(addr))
	}
	switch {
	case is(r.self):
		return true, nil
	case is(backup):
		return false, nil
	}
	return false, fmt.Errorf("--keep %q names neither replica: %s (the owner) or %s (the backup): %w", keep, r.nodeName(r.self), r.nodeName(backup), persistence.ErrInvalid)
}

// discardBackup keeps this node's history: it reads the backup's entries [d, count), has the
// backup archive them, and pushes the local log from d.
func (r *Replicator) discardBackup(ctx context.Context, pid persistence.ID, backup string, epoch, d, count uint64, res *Resolution) ([]persistence.Entry, error) {
	lost, err := r.fetchRange(ctx, pid, backup, d, count)
	if err != nil {
		return nil, err
	}
	dr, err := r.call(ctx, backup, &replpb.Discard{Process: pid[:], Epoch: epoch, From: d, FromNode: r.self})
	if err != nil {
		return nil, err
	}
	if dr.Code != replpb.Code_OK {
		return nil, fmt.Errorf("process %s: discard on %s from %d: %s", b64(pid), backup, d, dr.Detail)
	}
	res.Archived, res.RolledBack = dr.Archived, dr.RolledBack
	return lost, r.push(ctx, pid, backup, epoch, d, false)
}

// discardLocal keeps the backup's history: this node archives its log from d and pulls the
// backup's; the backup's fork record, if it has one, is cleared (a Discard past its end).
func (r *Replicator) discardLocal(ctx context.Context, pid persistence.ID, backup string, epoch, d, count uint64, res *Resolution) ([]persistence.Entry, error) {
	dl, err := r.store.DiscardFrom(ctx, pid, d, epoch)
	if err != nil {
		return nil, err
	}
	res.Archived, res.RolledBack = uint64(len(dl.Entries)), dl.Evaluated
	dr, err := r.call(ctx, backup, &replpb.Discard{Process: pid[:], Epoch: epoch, From: count, FromNode: r.self})
	if err != nil {
		return nil, err
	}
	if dr.Code != replpb.Code_OK {
		return nil, fmt.Errorf("process %s: clear the fork on %s: %s", b64(pid), backup, dr.Detail)
	}
	return dl.Entries, r.pull(ctx, pid, backup, epoch, d, count, false)
}

// notIn returns the entries of lost whose messages the local log does not hold. The process's own
// assignment (no message id) is never among them: both histories start with it.
func (r *Replicator) notIn(pid persistence.ID, lost []persistence.Entry) ([]persistence.Entry, error) {
	var out []persistence.Entry
	for _, e := range lost {
		if e.MessageID == (persistence.ID{}) {
			continue
		}
		has, err := r.store.HasMessage(pid, e.MessageID)
		if err != nil {
			return nil, err
		}
		if !has {
			out = append(out, e)
		}
	}
	return out, nil
}

// discard is the replica side of Discard.
func (s *server) discard(ctx context.Context, m *replpb.Discard) *replpb.Reply {
	pid := toID(m.Process)
	d, err := s.store.DiscardFrom(ctx, pid, m.From, m.Epoch)
	if err == nil {
		err = s.store.ClearFork(ctx, pid)
	}
	r := &replpb.Reply{Archived: uint64(len(d.Entries)), RolledBack: d.Evaluated}
	switch {
	case err == nil:
	case errors.Is(err, persistence.ErrStaleEpoch):
		r.Code, r.Detail = replpb.Code_STALE_EPOCH, err.Error()
	case errors.Is(err, persistence.ErrUnknownProcess):
		r.Code, r.Detail = replpb.Code_UNKNOWN_PROCESS, err.Error()
	default:
		r.Code, r.Detail = replpb.Code_FAILED, err.Error()
	}
	return s.state(ctx, pid, r)
}
