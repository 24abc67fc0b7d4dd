package weavedrive_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/everFinance/goar"
	goartypes "github.com/everFinance/goar/types"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/runtime"
	"github.com/actorweave/actorweave/weavedrive"
)

// BenchmarkWeaveDrive50MB: a module reads a 50 MiB Arweave transaction (posted to arlocal in
// 256 KiB chunks) in 32 KiB reads through the drive: "gateway" with an empty cache each time (the
// size, the download into the store, the reads), "cache" from a filled cache with the gateway
// stopped. MB/s is the module's throughput (go test's b.SetBytes).
//
//	go test -run '^$' -bench WeaveDrive50MB -benchtime 3x ./weavedrive/
//
// AW_WEAVEDRIVE_BENCH_MB changes the size.
func BenchmarkWeaveDrive50MB(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	size := 50 << 20
	if v, err := strconv.Atoi(os.Getenv("AW_WEAVEDRIVE_BENCH_MB")); err == nil && v > 0 {
		size = v << 20
	}
	ar := testutil.Arlocal(b)
	wallet, err := ans104.GenerateRSASigner()
	if err != nil {
		b.Fatal(err)
	}
	if err := ar.Mint(ctx, ans104.Address(wallet.SignatureType(), wallet.Owner())); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	_, _ = rand.Read(data) // distinct chunks: arlocal drops chunks with the same content
	start := time.Now()
	w := &goar.Wallet{Client: goar.NewClient(ar.URL), Signer: goar.NewSignerByPrivateKey(wallet.PrivateKey())}
	tx, err := w.SendData(data, []goartypes.Tag{{Name: "Content-Type", Value: "application/octet-stream"}})
	if err != nil {
		b.Fatal(err)
	}
	if err := ar.Mine(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("posted %d bytes to arlocal as %s in %s", size, tx.ID, time.Since(start).Round(time.Millisecond))
	cmd := "drain /data/" + tx.ID + " 32768"
	// Admitted as the process's On-Boot item: the figures are the reads, not a GraphQL query.
	procTags := []ans104.Tag{{Name: "Scheduler", Value: "S"}, {Name: "On-Boot", Value: tx.ID}}
	module := []ans104.Tag{{Name: "Extension", Value: "WeaveDrive"}}
	eng, err := runtime.NewEngine(ctx, runtime.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close(context.Background())
	mod, err := eng.Compile(ctx, testutil.Module(b, "drive"), "wasm32-unknown-emscripten2")
	if err != nil {
		b.Fatal(err)
	}
	limits := runtime.Limits{Deadline: 10 * time.Minute}
	read := func(b *testing.B, d *weavedrive.Drives) {
		inst, err := eng.Instantiate(ctx, mod, limits)
		if err != nil {
			b.Fatal(err)
		}
		defer inst.Close(ctx)
		inst.SetDrive(d.For(ans104.ID{1}, procTags, module), d.ReadBudget())
		res, err := inst.Handle(ctx, []byte(`{"Id":"m","Block-Height":1,"Data":"`+cmd+`"}`), []byte(`{}`))
		if err != nil || res.Error != "" {
			b.Fatalf("%v %s", err, res.Error)
		}
		if want := fmt.Sprintf(`"read":%d,"reads":%d`, size, (size+32767)/32768); !strings.Contains(string(res.Output), want) {
			b.Fatalf("output %s, want %s", res.Output, want)
		}
	}

	// What arlocal alone takes to answer the whole item (it assembles it from its chunks).
	t0 := time.Now()
	if _, err := arweave.NewGateway(ar.URL).Data(ctx, tx.ID); err != nil {
		b.Fatal(err)
	}
	b.Logf("arlocal answers GET /%s in %s", tx.ID, time.Since(t0).Round(time.Millisecond))
	var filled *weavedrive.Drives
	top := b
	b.Run("gateway", func(b *testing.B) {
		b.SetBytes(int64(size))
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st := openStore(top, top.TempDir())
			d, err := weavedrive.New(weavedrive.Config{Gateway: ar.URL}, st)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			read(b, d)
			b.StopTimer()
			filled = d
		}
	})
	if filled == nil {
		return
	}
	ar.Stop()
	b.Run("cache", func(b *testing.B) {
		b.SetBytes(int64(size))
		for i := 0; i < b.N; i++ {
			read(b, filled)
		}
	})
}
