package node

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/internal/testutil"
)

// netns is a small Linux network for a partition test: one namespace per member with two links, one
// to the test process (clients; never cut) and one to a switch namespace (the cluster: memberlist
// and Proto.Actor remote), which the test cuts and heals.
type netns struct {
	t      *testing.T
	prefix string
	subnet int
}

func (n *netns) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func (n *netns) ns(i int) string       { return fmt.Sprintf("%sn%d", n.prefix, i) }
func (n *netns) clientIP(i int) string { return fmt.Sprintf("10.124.%d.%d", n.subnet, 4*i+2) }
func (n *netns) clusterIP(i int) string {
	return fmt.Sprintf("10.123.%d.%d", n.subnet, i+1)
}

func newNetns(t *testing.T, members int) *netns {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("the partition test needs iproute2 (ip): run make deps")
	}
	n := &netns{t: t, prefix: fmt.Sprintf("aw%04x", rand.Intn(1<<16)), subnet: 1 + rand.Intn(250)}
	sw := n.prefix + "sw"
	t.Cleanup(func() {
		for i := 0; i < members; i++ {
			_ = exec.Command("ip", "netns", "del", n.ns(i)).Run()
		}
		_ = exec.Command("ip", "netns", "del", sw).Run()
	})
	n.ip("netns", "add", sw)
	n.ip("-n", sw, "link", "add", "br0", "type", "bridge")
	n.ip("-n", sw, "link", "set", "br0", "up")
	for i := 0; i < members; i++ {
		ns := n.ns(i)
		n.ip("netns", "add", ns)
		n.ip("-n", ns, "link", "set", "lo", "up")
		// cluster link: ns:c <-> sw:p<i> on the bridge
		n.ip("link", "add", fmt.Sprintf("%sc%d", n.prefix, i), "type", "veth", "peer", "name", fmt.Sprintf("%sp%d", n.prefix, i))
		n.ip("link", "set", fmt.Sprintf("%sc%d", n.prefix, i), "netns", ns)
		n.ip("link", "set", fmt.Sprintf("%sp%d", n.prefix, i), "netns", sw)
		n.ip("-n", ns, "link", "set", fmt.Sprintf("%sc%d", n.prefix, i), "name", "cl0")
		n.ip("-n", ns, "addr", "add", n.clusterIP(i)+"/24", "dev", "cl0")
		n.ip("-n", ns, "link", "set", "cl0", "up")
		n.ip("-n", sw, "link", "set", fmt.Sprintf("%sp%d", n.prefix, i), "master", "br0")
		n.ip("-n", sw, "link", "set", fmt.Sprintf("%sp%d", n.prefix, i), "up")
		// client link: root:h<i> <-> ns:h0, a /30 of its own
		host := fmt.Sprintf("%sh%d", n.prefix, i)
		n.ip("link", "add", host, "type", "veth", "peer", "name", host+"x")
		n.ip("link", "set", host+"x", "netns", ns)
		n.ip("-n", ns, "link", "set", host+"x", "name", "h0")
		n.ip("addr", "add", fmt.Sprintf("10.124.%d.%d/30", n.subnet, 4*i+1), "dev", host)
		n.ip("link", "set", host, "up")
		n.ip("-n", ns, "addr", "add", n.clientIP(i)+"/30", "dev", "h0")
		n.ip("-n", ns, "link", "set", "h0", "up")
	}
	return n
}

// cut takes member i off the cluster network (it still answers clients); heal puts it back.
func (n *netns) cut(i int) {
	n.ip("-n", n.prefix+"sw", "link", "set", fmt.Sprintf("%sp%d", n.prefix, i), "down")
}
func (n *netns) heal(i int) {
	n.ip("-n", n.prefix+"sw", "link", "set", fmt.Sprintf("%sp%d", n.prefix, i), "up")
}

// TestClusterPartition: three members in network namespaces; one is cut off from the other two (its
// clients still reach it): the seed (member 0, started without --join, so only the members it
// remembers bring it back), and in a second run a member that joined through it. The cut-off member
// refuses writes to the processes it owns with a clear 503 (it cannot reach their backups; then it
// has no backup at all), while the other side takes those processes over and keeps acknowledging.
// After the link heals, the cluster settles: the cut-off member is fenced and comes back under a new
// id, and every member holds one view of all three; every process then takes writes through every
// member, no log has forked and nothing acknowledged is missing.
func TestClusterPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("needs network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("the partition test creates network namespaces: it runs as root (CI does)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("the partition test needs iproute2 (ip): run make deps")
	}
	wasm := testutil.Module(t, "aoslike")
	for _, victim := range []int{0, 1} {
		name := map[int]string{0: "seed", 1: "member"}[victim]
		t.Run("cut-"+name, func(t *testing.T) { clusterPartition(t, wasm, victim) })
	}
}

func clusterPartition(t *testing.T, wasm []byte, vi int) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	nn := newNetns(t, 3)
	c := &testCluster{t: t, key: filepath.Join(t.TempDir(), "cluster.key")}
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	if err := os.WriteFile(c.key, key, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		var join []string
		if i > 0 {
			join = []string{c.members[0].gossip}
		}
		env := []string{"AW_CLUSTER_HTTP=" + nn.clientIP(i) + ":0", "AW_CLUSTER_BIND=" + nn.clusterIP(i)}
		c.members = append(c.members, startMemberNodeIn(t, []string{"ip", "netns", "exec", nn.ns(i)}, env, t.TempDir(), c.key, join...))
	}
	idsBefore := idsByName(waitOneView(ctx, t, c.members, "at start"))
	user, _ := ans104.GenerateEd25519Signer()
	clientOf := memberClients(user, 20*time.Second)
	modItem := signModule(t, user, wasm)
	if err := postTx(ctx, c.members[0].url, modItem.Bytes()); err != nil {
		t.Fatal(err)
	}
	acked := map[ans104.ID]ans104.ID{}
	var mu sync.Mutex
	post := func(via *member, item *ans104.DataItem) error {
		_, err := clientOf(via).PostItem(ctx, item)
		if err == nil || conflict(err) {
			mu.Lock()
			acked[item.ID()] = item.TargetID()
			mu.Unlock()
			return nil
		}
		return err
	}
	victim := c.members[vi]
	// Six processes, at least two of them owned by the member to be cut (placement is known before
	// spawning: it hashes the process id).
	const procs, ownedMin = 6, 2
	var pids, owned []ans104.ID
	var items []*ans104.DataItem
	for len(pids) < procs {
		item, _ := clientOf(c.members[0]).Sign([]byte(" "), nil, nil, []ans104.Tag{
			{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Process"},
			{Name: "Module", Value: modItem.ID().String()}, {Name: "Scheduler", Value: c.scheduler()},
			{Name: "Nonce-Salt", Value: fmt.Sprint(rand.Int63())}})
		o, _ := c.owner(item.ID())
		if o != victim && len(pids)-len(owned) >= procs-ownedMin {
			continue
		}
		if o == victim {
			owned = append(owned, item.ID())
		}
		pids, items = append(pids, item.ID()), append(items, item)
	}
	for i, item := range items {
		if _, err := clientOf(c.members[i%3]).PostItem(ctx, item); err != nil {
			t.Fatalf("spawn: %v", err)
		}
		for k := 0; k < 3; k++ {
			msg, _ := clientOf(c.members[0]).MessageItem(pids[i], []byte("return 1"), nil)
			if err := post(c.members[k], msg); err != nil {
				t.Fatalf("message before the partition: %v", err)
			}
		}
	}
	nn.cut(vi)
	cutAt := time.Now()
	// The cut-off side refuses writes for its processes, with a clear error.
	for _, pid := range owned {
		msg, _ := clientOf(c.members[0]).MessageItem(pid, []byte("return 1"), nil)
		err := post(victim, msg)
		if err == nil {
			t.Fatalf("the cut-off member acknowledged a write to %s", pid)
		}
		if !strings.Contains(err.Error(), "503") || !(strings.Contains(err.Error(), "backup") || strings.Contains(err.Error(), "owner") || strings.Contains(err.Error(), "no quorum")) {
			t.Fatalf("the cut-off member refused a write to %s without a clear 503: %v", pid, err)
		}
		t.Logf("cut-off member after %v: %v", time.Since(cutAt).Round(time.Millisecond), err)
	}
	// The other side takes them over and acknowledges.
	var others []*member
	for _, m := range c.members {
		if m != victim {
			others = append(others, m)
		}
	}
	for _, pid := range owned {
		msg, _ := clientOf(c.members[0]).MessageItem(pid, []byte("return 1"), nil)
		for {
			err := post(others[0], msg)
			if err == nil {
				break
			}
			if time.Since(cutAt) > 90*time.Second {
				t.Fatalf("the majority side did not take %s over within 90 s: %v", pid, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("majority side acknowledging every cut-off process %v after the cut", time.Since(cutAt).Round(time.Millisecond))
	waitOneView(ctx, t, others, "the majority side")
	// Heal only once the cut-off member has removed the others too: the healing rule under test
	// is the one for two sides that removed each other. (Since the cut-off side refuses in under
	// a second, the majority's takeover no longer takes long enough for this to hold by itself; a
	// heal while the minority is still detecting the failure can fence a majority member too,
	// which is safe but not what this test checks: a known gap, see the README.)
	waitOneView(ctx, t, []*member{victim}, "the cut-off member alone")
	// The views split within two leases (the failure signal, cluster/failure.go), long before
	// memberlist declares anyone dead; a heal then brings the cut-off member back under the same id
	// (a false suspicion, cluster's TestFailureSignal). This test is about the heal after memberlist
	// removed them: a member out for silence leaves actorweave_cluster_silent_members when
	// memberlist removes it. Then the news settles for a second, as in cluster's
	// TestPartitionHealRejoin.
	for _, m := range c.members {
		for metric(t, m.url, "actorweave_cluster_silent_members") != 0 {
			if ctx.Err() != nil {
				t.Fatalf("memberlist on %s never removed the members the failure signal took out", m.name)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	time.Sleep(time.Second)
	nn.heal(vi)
	healAt := time.Now()
	// The cluster settles into one view of three (the cut-off member under a new id, fenced by the
	// watchdog and restarted by node.Run on the same ports).
	idsAfter := idsByName(waitOneView(ctx, t, c.members, "after healing"))
	t.Logf("one view of all three members %v after healing", time.Since(healAt).Round(time.Millisecond))
	// Only the cut-off side came back under a new identity.
	for _, m := range c.members {
		if changed := idsBefore[m.name] != idsAfter[m.name]; changed != (m == victim) {
			t.Fatalf("member %s: id %s before the cut, %s after healing (the cut-off member should be the only one fenced)",
				m.name, idsBefore[m.name], idsAfter[m.name])
		}
	}
	// Every process takes writes through every member, the healed one included.
	for _, pid := range pids {
		for _, via := range c.members {
			msg, _ := clientOf(c.members[0]).MessageItem(pid, []byte("return 1"), nil)
			for try := 0; ; try++ {
				err := post(via, msg)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("process %s takes no write through %s %v after healing: %v", pid, via.url, time.Since(healAt), err)
				}
				if try%20 == 19 {
					t.Logf("after healing, %s through %s: %v", pid, via.url, err)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	t.Logf("every process acknowledged through every member %v after healing", time.Since(healAt).Round(time.Millisecond))
	// The views are still one (no member fenced again meanwhile).
	view := waitOneView(ctx, t, c.members, "at the end")
	dirOf := map[string]string{}
	for _, m := range c.members {
		dirOf[m.name] = m.dir
	}
	replicas := map[ans104.ID][2]string{}
	for _, pid := range pids {
		r := awcluster.Rank(pid.String(), view, nil)
		replicas[pid] = [2]string{dirOf[r[0].Name], dirOf[r[1].Name]}
	}
	for _, m := range c.members {
		c.kill(m)
	}
	checkLogs(t, c.members, replicas, acked)
}

// waitOneView waits until every member's /cluster/status shows the same members, one per member
// node (by placement name), and returns that view.
func waitOneView(ctx context.Context, t *testing.T, ms []*member, when string) []awcluster.Member {
	t.Helper()
	var last string
	for {
		var view []awcluster.Member
		same := true
		var desc []string
		for _, m := range ms {
			st, err := memberStatus(ctx, m)
			if err != nil {
				same = false
				desc = append(desc, m.url+": "+err.Error())
				continue
			}
			var names []string
			var vm []awcluster.Member
			for _, x := range st.Members {
				names = append(names, x.Name)
				vm = append(vm, x.Member)
			}
			sort.Strings(names)
			desc = append(desc, m.name[:8]+" sees "+strings.Join(shortNames(names), ","))
			if len(names) != len(ms) {
				same = false
			}
			for _, other := range ms {
				if !slices.Contains(names, other.name) {
					same = false
				}
			}
			view = vm
		}
		if same {
			return view
		}
		if d := strings.Join(desc, "; "); d != last {
			t.Logf("%s: %s", when, d)
			last = d
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: the members never formed one view: %s", when, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func idsByName(view []awcluster.Member) map[string]string {
	out := map[string]string{}
	for _, m := range view {
		out[m.Name] = m.ID
	}
	return out
}

func shortNames(ns []string) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n[:min(8, len(n))]
	}
	return out
}

func memberStatus(ctx context.Context, m *member) (*ClusterStatus, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req := statusRequest(cctx, m.url, m.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var st ClusterStatus
	return &st, json.NewDecoder(resp.Body).Decode(&st)
}
