package replication

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/actorweave/actorweave/cluster/replication/replpb"
	"github.com/actorweave/actorweave/persistence"
)

// A handed-over checkpoint is stored only if it decompresses to the announced size and hash.
func TestDecodeCheckpointChecksHash(t *testing.T) {
	mem := make([]byte, 1<<16)
	for i := range mem {
		mem[i] = byte(i * 7)
	}
	enc, _ := zstd.NewWriter(nil)
	z := enc.EncodeAll(mem, nil)
	sum := sha256.Sum256(mem)
	good := &replpb.Compute{Sha256: sum[:], Size: uint64(len(mem)), Zstd: z}
	got, err := decodeCheckpoint(good)
	if err != nil || string(got) != string(mem) {
		t.Fatalf("good checkpoint: %v", err)
	}
	bad := append([]byte(nil), sum[:]...)
	bad[0] ^= 1
	for name, c := range map[string]*replpb.Compute{
		"hash":      {Sha256: bad, Size: uint64(len(mem)), Zstd: z},
		"size":      {Sha256: sum[:], Size: uint64(len(mem)) - 1, Zstd: z},
		"frame":     {Sha256: sum[:], Size: uint64(len(mem)), Zstd: z[:len(z)/2]},
		"hash size": {Sha256: sum[:8], Size: uint64(len(mem)), Zstd: z},
	} {
		if _, err := decodeCheckpoint(c); !errors.Is(err, persistence.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}
