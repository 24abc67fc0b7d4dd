package replication

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/cluster/replication/replpb"
	"github.com/actorweave/actorweave/persistence"
)

// The compute part of a hand-over. The log alone lets a new owner rebuild everything, but only by
// evaluating the whole log again. So after pulling the log, takeOver also pulls the old owner's
// latest checkpoint (verified by its SHA-256 before it is stored) and the stored results before it,
// and moves its evaluation cursor past the checkpoint: the evaluator restores the memory and
// evaluates only the tail. The checkpoint chosen is the newest one before the old owner's first
// undelivered push, so nothing of its outbox is needed (what follows the checkpoint is evaluated
// again, and the pushes come out with the same ids, which their targets deduplicate).
//
// Nothing is installed while the process has an activation on this node (Replicator.SetActive):
// its evaluator has read the cursor already. The sync lock of the process is held meanwhile, so an
// activation starting now waits for the install (Activate syncs under the same lock first).
//
// Limits: a checkpoint whose compressed size exceeds the catch-up bound (CatchUpBytes, default
// 2 MiB; gRPC's message limit is 4 MiB) does not travel (the new owner evaluates the whole log, as
// before); backups are seeded with the log only (after a kill -9 the promoted backup evaluates the
// whole log).

// SetActive tells the replicator how to ask whether pid has a live activation on this node.
func (r *Replicator) SetActive(active func(pid persistence.ID) bool) { r.active = active }

// pullCompute fetches from the node `from` the checkpoint and results that let this node skip
// evaluating pid's log up to the checkpoint. A failure leaves the process as it was (evaluated from
// where it is); it is logged through the returned error only.
func (r *Replicator) pullCompute(ctx context.Context, pid persistence.ID, from string) error {
	l := &r.syncLocks[pid[0]]
	l.Lock()
	defer l.Unlock()
	if r.active != nil && r.active(pid) {
		return nil
	}
	next, err := r.store.Evaluated(pid)
	if err != nil {
		return err
	}
	req := &replpb.FetchCompute{Process: pid[:], From: next}
	var cpNonce uint64
	for {
		rep, err := r.callCompute(ctx, from, req)
		if err != nil {
			return err
		}
		if rep.Code != replpb.Code_OK {
			return fmt.Errorf("process %s: compute from %s: %s", b64(pid), from, rep.Detail)
		}
		if !rep.HasCheckpoint {
			return nil
		}
		if !req.HasCheckpoint {
			// The first page: check and store the checkpoint before any result moves the cursor.
			mem, err := decodeCheckpoint(rep)
			if err != nil {
				return fmt.Errorf("process %s: checkpoint %d from %s: %w", b64(pid), rep.CheckpointNonce, from, err)
			}
			cp := persistence.Checkpoint{Process: pid, Nonce: rep.CheckpointNonce, Timestamp: rep.Timestamp,
				BlockHeight: rep.BlockHeight, Memory: mem}
			copy(cp.SHA256[:], rep.Sha256)
			if _, err := r.store.PutHandedCheckpoint(cp); err != nil {
				return err
			}
			r.stats.Checkpoints.Add(1)
			cpNonce = rep.CheckpointNonce
			req.HasCheckpoint, req.CheckpointNonce = true, cpNonce
		}
		if len(rep.Results) == 0 {
			if req.From <= cpNonce {
				return fmt.Errorf("process %s: %s sent no results from %d", b64(pid), from, req.From)
			}
			return nil
		}
		if rep.From != req.From {
			return fmt.Errorf("process %s: %s sent results from %d, asked from %d", b64(pid), from, rep.From, req.From)
		}
		if err := r.store.InstallResults(ctx, pid, rep.From, rep.Results); err != nil {
			return err
		}
		r.stats.ResultsReceived.Add(int64(len(rep.Results)))
		req.From += uint64(len(rep.Results))
		if req.From > cpNonce {
			return nil
		}
	}
}

// maxCheckpointSize bounds the uncompressed memory of a checkpoint accepted in a hand-over (wasm32's
// whole address space).
const maxCheckpointSize = 4 << 30

// decodeCheckpoint decompresses a received checkpoint and checks its size and SHA-256.
func decodeCheckpoint(rep *replpb.Compute) ([]byte, error) {
	if rep.Size > maxCheckpointSize || len(rep.Sha256) != sha256.Size {
		return nil, fmt.Errorf("%w: checkpoint of %d bytes with a %d-byte hash", persistence.ErrInvalid, rep.Size, len(rep.Sha256))
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(rep.Size+1))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	mem, err := dec.DecodeAll(rep.Zstd, make([]byte, 0, rep.Size))
	if err != nil {
		return nil, fmt.Errorf("%w: checkpoint does not decompress: %v", persistence.ErrInvalid, err)
	}
	if uint64(len(mem)) != rep.Size {
		return nil, fmt.Errorf("%w: checkpoint is %d bytes, announced %d", persistence.ErrInvalid, len(mem), rep.Size)
	}
	if sum := sha256.Sum256(mem); string(sum[:]) != string(rep.Sha256) {
		return nil, fmt.Errorf("%w: checkpoint SHA-256 mismatch", persistence.ErrInvalid)
	}
	return mem, nil
}

func (r *Replicator) callCompute(ctx context.Context, addr string, msg *replpb.FetchCompute) (*replpb.Compute, error) {
	timeout := r.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	r.stats.Requests.Add(1)
	r.stats.BytesSent.Add(int64(proto.Size(msg)))
	res, err := r.system.Root.RequestFuture(actor.NewPID(addr, ActorName), msg, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrBackupUnreachable, addr, err)
	}
	rep, ok := res.(*replpb.Compute)
	if !ok {
		return nil, fmt.Errorf("replication: unexpected reply %T from %s", res, addr)
	}
	n := int64(proto.Size(rep))
	r.stats.BytesReceived.Add(n)
	r.stats.HandoverBytes.Add(int64(proto.Size(msg)) + n)
	return rep, nil
}

// fetchCompute is the sender's side (server): the checkpoint before the first undelivered push,
// and results from m.From up to it, within the catch-up byte bound.
func (s *server) fetchCompute(m *replpb.FetchCompute) *replpb.Compute {
	pid := toID(m.Process)
	fail := func(err error) *replpb.Compute { return &replpb.Compute{Code: replpb.Code_FAILED, Detail: err.Error()} }
	evaluated, err := s.store.Evaluated(pid)
	if err != nil {
		return fail(err)
	}
	rep := &replpb.Compute{}
	cpNonce := m.CheckpointNonce
	if !m.HasCheckpoint {
		if evaluated == 0 {
			return rep
		}
		bound := evaluated - 1
		if first, ok, err := s.store.FirstPendingPush(pid); err != nil {
			return fail(err)
		} else if ok {
			if first == 0 {
				return rep
			}
			bound = min(bound, first-1)
		}
		n, ok, err := s.store.LatestCheckpointNonce(pid, bound)
		if err != nil {
			return fail(err)
		}
		if !ok || n < m.From {
			return rep // nothing newer than what the receiver evaluated
		}
		sc, err := s.store.CheckpointAt(pid, n)
		if err != nil {
			return fail(err)
		}
		if len(sc.Compressed) > s.maxBytes {
			return rep // too large for one message: the receiver evaluates the log
		}
		cpNonce = n
		rep.CheckpointNonce, rep.Timestamp, rep.BlockHeight = n, sc.Timestamp, sc.BlockHeight
		rep.Sha256, rep.Size, rep.Zstd = sc.SHA256[:], sc.Size, sc.Compressed
	}
	rep.HasCheckpoint, rep.CheckpointNonce, rep.From = true, cpNonce, m.From
	budget := s.maxBytes - len(rep.Zstd)
	var rerr error
	err = s.store.Results(pid, m.From, cpNonce, false, func(sr persistence.StoredResult) bool {
		if sr.Nonce != m.From+uint64(len(rep.Results)) {
			rerr = fmt.Errorf("result %d missing", m.From+uint64(len(rep.Results)))
			return false
		}
		if budget -= len(sr.Result); budget < 0 && len(rep.Results) > 0 {
			return false
		}
		rep.Results = append(rep.Results, sr.Result)
		return len(rep.Results) < s.maxScan*16
	})
	if err == nil {
		err = rerr
	}
	if err != nil && !errors.Is(err, persistence.ErrNotFound) {
		return fail(err)
	}
	return rep
}
