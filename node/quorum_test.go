package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	"github.com/actorweave/actorweave/client"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/internal/testutil"
)

// TestClusterQuorum: four members under memberlist; two are killed at once. The two survivors can
// still form an owner-and-backup pair for every process, and without the quorum guard they took
// every process over and acknowledged writes; but two of four is what each half of a 2-2 partition
// sees too, and both halves writing would fork every log. So the survivors refuse every write with
// a 503 that names the missing quorum, and once one of the killed members is back (three of four)
// every process takes writes again. An operator then forgets the member that will not return
// (POST /cluster/forget, signed with the cluster key), after which two of the three left are a
// quorum. Nothing acknowledged is lost.
func TestClusterQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four member nodes")
	}
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := startMemberlistCluster(t, 4)
	waitViews(t, c.members, 4)
	user, _ := ans104.GenerateEd25519Signer()
	clientOf := memberClients(user, 30*time.Second)
	modItem := signModule(t, user, wasm)
	c.publish(ctx, modItem)
	signer := client.New("http://unused", user)
	var pids []ans104.ID
	for i := 0; i < 6; i++ {
		item, err := signer.Sign([]byte(" "), nil, nil, []ans104.Tag{
			{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Process"},
			{Name: "Module", Value: modItem.ID().String()}, {Name: "Scheduler", Value: c.scheduler()},
			{Name: "Nonce-Salt", Value: fmt.Sprint(rand.Int63())}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := clientOf(c.members[i%4]).PostItem(ctx, item); err != nil {
			t.Fatalf("spawn: %v", err)
		}
		pids = append(pids, item.ID())
	}
	send := func(m *member, pid ans104.ID) (ans104.ID, error) {
		item, err := signer.MessageItem(pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = clientOf(m).PostItem(ctx, item)
		return item.ID(), err
	}
	acked := map[ans104.ID]ans104.ID{}
	for _, pid := range pids {
		id, err := send(c.members[0], pid)
		if err != nil {
			t.Fatalf("write with every member up: %v", err)
		}
		acked[id] = pid
	}

	c.kill(c.members[2])
	c.kill(c.members[3])
	survivors := c.members[:2]
	waitViews(t, survivors, 2)
	for i, pid := range pids {
		_, err := send(survivors[i%2], pid)
		if err == nil {
			t.Fatalf("process %s took a write with 2 of 4 members in view", pid)
		}
		if !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "no quorum") {
			t.Fatalf("write with 2 of 4 members: %v, want 503 naming the quorum", err)
		}
	}
	t.Logf("with 2 of 4 members every write was refused, e.g. %v", func() error { _, err := send(survivors[0], pids[0]); return err }())

	back := startMemberNode(t, c.members[2].dir, c.key, survivors[0].gossip)
	*c.members[2] = *back
	live := c.members[:3]
	waitViews(t, live, 3)
	start := time.Now()
	for i, pid := range pids {
		for {
			id, err := send(live[i%3], pid)
			if err == nil {
				acked[id] = pid
				break
			}
			if time.Since(start) > time.Minute {
				t.Fatalf("process %s refuses writes a minute after 3 of 4 members are back: %v", pid, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("3 of 4 members: every process took a write again within %v", time.Since(start).Round(time.Millisecond))

	// Member 3 will not return: an operator forgets it (signed with the cluster key). Then three
	// are known, and losing member 2 again leaves two of three: still a quorum.
	sec, err := awcluster.LoadSecurity(c.key)
	if err != nil {
		t.Fatal(err)
	}
	forget := func(names []string, key []byte) (int, string) {
		now := time.Now()
		body, _ := json.Marshal(api.ForgetRequest{Names: names, Time: now.UnixMilli(), MAC: awcluster.SignAdmin(key, "forget", now, names)})
		resp, err := http.Post(live[0].url+"/cluster/forget", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := forget([]string{c.members[3].name}, []byte("not the cluster key, 32 bytes...")); code != http.StatusForbidden {
		t.Fatalf("forget signed with another key: %d %s", code, body)
	}
	if code, body := forget([]string{c.members[1].name}, sec.AdminKey); code != http.StatusConflict {
		t.Fatalf("forget of a live member: %d %s", code, body)
	}
	if code, body := forget([]string{c.members[3].name}, sec.AdminKey); code != http.StatusOK || strings.Count(body, c.members[3].name) != 3 {
		t.Fatalf("forget of the dead member: %d %s (want it forgotten on all three live members)", code, body)
	}
	c.kill(c.members[2])
	waitViews(t, survivors, 2)
	start = time.Now()
	for i, pid := range pids {
		for {
			id, err := send(survivors[i%2], pid)
			if err == nil {
				acked[id] = pid
				break
			}
			if time.Since(start) > time.Minute {
				t.Fatalf("2 of 3 known members after the forget: process %s refuses writes: %v", pid, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("after forgetting the dead member, 2 of 3: every process took a write within %v", time.Since(start).Round(time.Millisecond))
	live = survivors
	for id, pid := range acked {
		for _, m := range live {
			if _, err := clientOf(m).Raw(ctx, "/"+id.String()+"?process-id="+pid.String()); err != nil {
				t.Fatalf("acknowledged message %s of %s read through %s: %v", id, pid, m.name, err)
			}
		}
	}
}
