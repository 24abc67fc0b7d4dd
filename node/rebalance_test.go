package node

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
)

// metric reads one counter or gauge from a node's /metrics (0 if absent).
func metric(t *testing.T, url, name string) float64 {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}

// TestClusterJoinRebalance: a fourth node joins a loaded three-node cluster (real memberlist). About
// a quarter of the processes move to it; their old owners hand them over eagerly (the new owner
// fences them and pulls each log before it serves a write); nothing acknowledged is lost; and the
// move's time and bytes are measured. AW_REBALANCE_PROCESSES sets the process count (default 200;
// the closing note's figure uses 10000).
func TestClusterJoinRebalance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four member nodes")
	}
	procs := 200
	if v := os.Getenv("AW_REBALANCE_PROCESSES"); v != "" {
		procs, _ = strconv.Atoi(v)
	}
	wasm := testutil.Module(t, "aoslike")
	t.Setenv("AW_CLUSTER_LAZY", "1") // evaluation is not what this measures
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	c := startMemberlistCluster(t, 3)
	time.Sleep(time.Second)
	user, _ := ans104.GenerateEd25519Signer()
	signer := client.New("http://unused", user) // signs items only (c.members grows during the test)
	clientOf := memberClients(user, 60*time.Second)
	modItem := signModule(t, user, wasm)
	if err := postTx(ctx, c.members[0].url, modItem.Bytes()); err != nil {
		t.Fatal(err)
	}
	// Spawn through random members (forwarded to each owner), each with one message.
	pids := make([]ans104.ID, procs)
	var mu sync.Mutex
	acked := map[ans104.ID]ans104.ID{}
	send := func(pid ans104.ID, i int) {
		item, err := signer.MessageItem(pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			t.Error(err)
			return
		}
		for try := 0; ; try++ {
			_, err := clientOf(c.entry(pid, i+try)).PostItem(ctx, item)
			if err == nil || conflict(err) {
				mu.Lock()
				acked[item.ID()] = pid
				mu.Unlock()
				return
			}
			if ctx.Err() != nil {
				t.Error(err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				item, err := signer.Sign([]byte(" "), nil, nil, []ans104.Tag{
					{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Process"},
					{Name: "Module", Value: modItem.ID().String()}, {Name: "Scheduler", Value: c.scheduler()},
					{Name: "Nonce-Salt", Value: fmt.Sprint(rand.Int63())}})
				if err != nil {
					t.Error(err)
					return
				}
				pids[i] = item.ID()
				for try := 0; ; try++ {
					_, err := clientOf(c.entry(pids[i], i+try)).PostItem(ctx, item)
					if err == nil || conflict(err) {
						break
					}
					if ctx.Err() != nil {
						t.Error(err)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
				send(pids[i], i)
			}
		}()
	}
	for i := range pids {
		work <- i
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d processes spawned with one message each in %v", procs, time.Since(start).Round(time.Millisecond))
	replBytes, replEntries := 0.0, 0.0
	for _, m := range c.members {
		replBytes += metric(t, m.url, "actorweave_replication_bytes_sent_total") + metric(t, m.url, "actorweave_replication_bytes_received_total")
		replEntries += metric(t, m.url, "actorweave_replication_entries_acknowledged_total")
	}
	t.Logf("replication: %.0f bytes between nodes for %.0f acknowledged entries (%.0f bytes per entry: requests, fences and replies, protobuf sizes; activations included)",
		replBytes, replEntries, replBytes/max(replEntries, 1))

	// Which processes the fourth member will own (the cluster's placement, computed here too).
	bytesBefore := 0.0
	for _, m := range c.members {
		bytesBefore += metric(t, m.url, "actorweave_replication_handover_bytes_total")
	}
	// Light load during the join.
	stop := make(chan struct{})
	var lw sync.WaitGroup
	for w := 0; w < 4; w++ {
		lw.Add(1)
		go func(w int) {
			defer lw.Done()
			for i := w; ; i += 4 {
				select {
				case <-stop:
					return
				default:
				}
				send(pids[i%procs], i)
			}
		}(w)
	}
	joinStart := time.Now()
	newcomer := startMemberNode(t, t.TempDir(), c.key, c.members[0].gossip)
	c.mu.Lock()
	c.members = append(c.members, newcomer)
	c.mu.Unlock()
	moving := 0
	for _, pid := range pids {
		if o, _ := c.owner(pid); o == newcomer {
			moving++
		}
	}
	frac := float64(moving) / float64(procs)
	t.Logf("%d of %d processes (%.1f%%) move to the fourth member", moving, procs, 100*frac)
	if procs >= 200 && (frac < 0.15 || frac > 0.35) {
		t.Fatalf("%.1f%% of the processes move to the fourth of four equal members, want about 25%%", 100*frac)
	}
	// Wait for the eager hand-over: every moving process taken over by the newcomer.
	deadline := time.Now().Add(10 * time.Minute)
	for metric(t, newcomer.url, "actorweave_replication_taken_over_total") < float64(moving) {
		if time.Now().After(deadline) {
			t.Fatalf("the newcomer took over %v of %d processes within 10 minutes", metric(t, newcomer.url, "actorweave_replication_taken_over_total"), moving)
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(joinStart)
	close(stop)
	lw.Wait()
	bytesAfter, handed := 0.0, 0.0
	for _, m := range c.members {
		bytesAfter += metric(t, m.url, "actorweave_replication_handover_bytes_total")
		handed += metric(t, m.url, "actorweave_replication_handed_off_total")
	}
	t.Logf("join: %d processes handed over in %v (from the newcomer's start, memberlist join included); %.0f bytes of hand-over and backup-seeding traffic (%.0f per moved process; protobuf sizes, without gRPC framing); %.0f hand-offs acknowledged",
		moving, took.Round(time.Millisecond), bytesAfter-bytesBefore, (bytesAfter-bytesBefore)/float64(max(moving, 1)), handed)

	// Every process answers at its (possibly new) owner, and every acknowledged message is there.
	for i, pid := range pids {
		send(pid, i)
	}
	for id, pid := range acked {
		o, _ := c.owner(pid)
		if _, err := clientOf(o).Raw(ctx, "/"+id.String()+"?process-id="+pid.String()); err != nil {
			t.Fatalf("acknowledged message %s missing from process %s on its owner after the join: %v", id, pid, err)
		}
	}
	replicas := map[ans104.ID][2]string{}
	for _, pid := range pids {
		o, b := c.owner(pid)
		replicas[pid] = [2]string{o.dir, b.dir}
	}
	for _, m := range c.members {
		c.kill(m)
	}
	checkLogs(t, c.members, replicas, acked)
}
