package arweave_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/internal/testutil"
)

// bundleOfSize returns items whose ANS-104 bundle is exactly size bytes: one item signed by s
// whose data (random, so no two bundles are alike) fills the rest.
func bundleOfSize(t *testing.T, s ans104.Signer, rng *rand.Rand, size int) []*ans104.DataItem {
	t.Helper()
	mk := func(n int) *ans104.DataItem {
		data := make([]byte, n)
		rng.Read(data)
		return signed(t, s, ans104.NewItem(data, nil, nil, []ans104.Tag{{Name: "Type", Value: "Test"}}), nil)
	}
	overhead := len(ans104.EncodeBundle([]*ans104.DataItem{mk(0)}))
	items := []*ans104.DataItem{mk(size - overhead)}
	if n := len(ans104.EncodeBundle(items)); n != size {
		t.Fatalf("bundle of %d bytes, want %d", n, size)
	}
	return items
}

// L1 uploads of bundles of many sizes against arlocal: around every 256 KiB chunk boundary up to
// 1 MiB (where Arweave's chunking rebalances the last two chunks when the last would be under
// 32 KiB), and a few sizes up to 4 MiB. Each must be accepted, mined, and read back as posted,
// with the caller's items first and byte-identical, and at most one padding item after them; and
// no bundle may have a size at which an Arweave node's fixed 256 KiB split and arweave-js's
// rebalanced split give different data roots (a node would refuse it, arlocal accepts half).
//
// Before padding, arlocal refused every odd size in (n*256 KiB, n*256 KiB + 32 KiB) with
// 400 "Bad Request" (its log: `"data_root" is invalid`): goar rebalances with floor(rest/2),
// arlocal with ceil(rest/2).
func TestL1BundleSizes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	ar := testutil.Arlocal(t)
	w := testWallet(t)
	node, _ := ans104.GenerateEd25519Signer()
	if err := ar.Mint(ctx, ans104.Address(w.SignatureType(), w.Owner())); err != nil {
		t.Fatal(err)
	}
	l1, err := arweave.NewL1(ar.URL, w)
	if err != nil {
		t.Fatal(err)
	}
	gw := arweave.NewGateway(ar.URL)
	const chunk, minChunk = 256 << 10, 32 << 10
	sizes := []int{2000, minChunk, 100_000, chunk - 1}
	for n := 1; n <= 4; n++ {
		for _, d := range []int{0, 1, 2, 1000, 1001, minChunk - 2, minChunk - 1, minChunk, minChunk + 1} {
			sizes = append(sizes, n*chunk+d)
		}
		sizes = append(sizes, (n+1)*chunk-1)
	}
	sizes = append(sizes, 300_000, 400_001, 1_500_000, 2_000_001, 3*chunk*4+5, 4_000_000)
	rng := rand.New(rand.NewSource(1))
	var failed []int
	fail := func(size int, format string, args ...any) {
		t.Helper()
		t.Errorf("bundle of %d bytes: "+format, append([]any{size}, args...)...)
		if len(failed) == 0 || failed[len(failed)-1] != size {
			failed = append(failed, size)
		}
	}
	for _, size := range sizes {
		items := bundleOfSize(t, node, rng, size)
		up, err := l1.Prepare(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		if r := up.Bytes % chunk; up.Bytes > chunk && r > 0 && r < minChunk {
			fail(size, "posted as %d bytes, where a node's data_root (fixed 256 KiB chunks) and arweave-js's (last two rebalanced) differ", up.Bytes)
		}
		if err := l1.Post(ctx, up); err != nil {
			var se *arweave.StatusError
			if errors.As(err, &se) {
				fail(size, "refused: HTTP %d %q", se.Code, se.Body)
			} else {
				fail(size, "%v", err)
			}
			continue
		}
		if err := ar.Mine(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, err := l1.Landed(ctx, up); err != nil || !ok {
			fail(size, "Landed = %v, %v", ok, err)
			continue
		}
		var tx struct {
			Data string `json:"data"`
		}
		if err := json.Unmarshal(up.Tx, &tx); err != nil {
			t.Fatal(err)
		}
		posted, err := ans104.DecodeB64(tx.Data)
		if err != nil || len(posted) != up.Bytes {
			t.Fatalf("the transaction's data: %d bytes, %v; the upload says %d", len(posted), err, up.Bytes)
		}
		got, err := gw.Data(ctx, up.TxID)
		if err != nil || !bytes.Equal(got, posted) {
			fail(size, "read back %d bytes (%v), posted %d", len(got), err, len(posted))
			continue
		}
		back, err := ans104.VerifyBundle(got, ans104.Limits{})
		if err != nil || len(back) < len(items) || len(back) > len(items)+1 {
			fail(size, "read back %d items (%v), posted %d", len(back), err, len(items))
			continue
		}
		for i, it := range items {
			if !bytes.Equal(back[i].Bytes(), it.Bytes()) || up.IDs[i] != it.ID() {
				fail(size, "item %d differs", i)
			}
		}
		if len(up.IDs) != len(items) {
			fail(size, "the upload lists %d items, want %d", len(up.IDs), len(items))
		}
		if len(back) > len(items) {
			pad := back[len(items)]
			if pad.Tags.Value(arweave.TagType) != arweave.TypePadding || pad.OwnerAddress() != l1.Address() {
				fail(size, "the extra item is not a padding item of the wallet: %v", pad.Tags)
			}
		} else if up.Bytes != size {
			fail(size, "posted %d bytes without a padding item", up.Bytes)
		}
		// Each item is there as itself too (arlocal unbundles).
		if d, err := gw.Data(ctx, items[0].ID().String()); err != nil || !bytes.Equal(d, items[0].Data) {
			fail(size, "item %s by id: %d bytes, %v", items[0].ID(), len(d), err)
		}
	}
	if len(failed) > 0 {
		t.Logf("arlocal log:\n%s", ar.Log())
		t.Fatalf("%d of %d bundle sizes did not land as posted: %v", len(failed), len(sizes), failed)
	}
}
