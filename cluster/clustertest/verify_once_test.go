package clustertest_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clusterpb"
	"github.com/actorweave/actorweave/cluster/clustertest"
	"github.com/actorweave/actorweave/internal/testutil"
)

// metricSum sums every sample of the named metric (all label sets, or only those whose labels
// contain label) in GET /metrics of node n.
func metricSum(t *testing.T, ctx context.Context, n *clustertest.Node, name, label string) float64 {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.URL+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		if label != "" && !strings.Contains(line, label) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		sum += v
	}
	return sum
}

// clusterSum is metricSum over every running node.
func clusterSum(t *testing.T, ctx context.Context, c *clustertest.Cluster, name, label string) float64 {
	var s float64
	for _, n := range c.Running() {
		s += metricSum(t, ctx, n, name, label)
	}
	return s
}

// ownerOf is the node owning pid, as the members place it (a process without labels).
func ownerOf(t *testing.T, ctx context.Context, c *clustertest.Cluster, pid ans104.ID) *clustertest.Node {
	t.Helper()
	var members []awcluster.Member
	byName := map[string]*clustertest.Node{}
	for _, nd := range c.Running() {
		st, err := nd.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range st.Members {
			if m.Self {
				byName[m.Name] = nd
				members = append(members, m.Member)
			}
		}
	}
	r := awcluster.Rank(pid.String(), members, nil)
	if len(r) == 0 || byName[r[0].Name] == nil {
		t.Fatalf("no owner for %s among %v", pid, members)
	}
	return byName[r[0].Name]
}

// An item posted to any member of a cluster is verified exactly once in the cluster: by the member
// that received it from the client. The owner of a forwarded item checks the sender's proof
// (cluster.ItemProof) instead of the signature. Before, the owner verified every forwarded item
// again: the cluster's verifications were the messages plus the forwarded ones.
func TestForwardedItemVerifiedOnce(t *testing.T) {
	t.Parallel()
	wasm := testutil.Module(t, "aoslike")
	c := clustertest.Start(t, 3, clustertest.Options{Configure: func(_ int, nc *clustertest.NodeConfig) { nc.LazyEval = true }})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	var clients []*client.Client
	for _, u := range c.URLs() {
		clients = append(clients, client.New(u, user))
	}
	mod, err := clients[0].PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	var pids []ans104.ID
	for p := 0; p < 6; p++ {
		pid, err := clients[p%len(clients)].Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprint("once", p)}})
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	// Warm-up through every member (activations, placement labels cached), outside the count.
	for _, pid := range pids {
		for _, cl := range clients {
			if _, err := cl.Send(ctx, pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	const verif, fwd = "actorweave_signature_verifications_total", "actorweave_forwarded_items_received_total"
	v0, p0, s0 := clusterSum(t, ctx, c, verif, ""), clusterSum(t, ctx, c, fwd, `check="proof"`), clusterSum(t, ctx, c, fwd, `check="signature"`)
	const rounds = 5
	sent := 0
	for r := 0; r < rounds; r++ {
		for _, pid := range pids {
			for _, cl := range clients { // every member: two of three forward to the owner
				if _, err := cl.Send(ctx, pid, []byte("return 2"), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
					t.Fatal(err)
				}
				sent++
			}
		}
	}
	v1, p1, s1 := clusterSum(t, ctx, c, verif, ""), clusterSum(t, ctx, c, fwd, `check="proof"`), clusterSum(t, ctx, c, fwd, `check="signature"`)
	t.Logf("%d messages: %.0f signature verifications in the cluster, %.0f forwarded items taken on proof, %.0f verified again", sent, v1-v0, p1-p0, s1-s0)
	if v1-v0 != float64(sent) {
		t.Errorf("the cluster verified %.0f signatures for %d messages, want exactly one each", v1-v0, sent)
	}
	if want := float64(sent * (len(clients) - 1) / len(clients)); p1-p0 != want {
		t.Errorf("%.0f forwarded items taken on the member's proof, want %.0f (two of every three)", p1-p0, want)
	}
	if s1-s0 != 0 {
		t.Errorf("owners verified %.0f forwarded items again", s1-s0)
	}
}

// Nobody but a member can have a forwarded item stored unverified. The test speaks the cluster's
// own protocol to an owner's forwarder over real gRPC: with the cluster's TLS certificate (the
// transport of a member) it forwards a tampered item (its data changed after signing) with no
// proof, and with a proof made under another cluster's key (what anyone without this cluster's
// key can make), and with a garbled proof: the owner verifies the signature and refuses each, and
// none is stored. A client with another cluster's certificate is not even served. A good item
// with this cluster's proof is stored without the owner's verification counter moving (a member's
// word), which also shows the harness reaches the handler the refusals come from.
func TestNonMemberCannotInjectUnverifiedItem(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	c := clustertest.Start(t, 2, clustertest.Options{Configure: func(_ int, nc *clustertest.NodeConfig) { nc.LazyEval = true }})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	cl := client.New(c.URLs()[0], user)
	mod, err := cl.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := cl.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: "victim"}})
	if err != nil {
		t.Fatal(err)
	}
	owner := ownerOf(t, ctx, c, pid)
	ocl := client.New(owner.URL, user)

	member, err := awcluster.LoadSecurity(c.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := awcluster.LoadSecurity(clustertest.NewKeyFile(t))
	if err != nil {
		t.Fatal(err)
	}

	// A certificate of another cluster's CA: the owner's gRPC port does not serve it.
	conn, err := tls.Dial("tcp", owner.Remote, func() *tls.Config {
		cfg := stranger.Client.Clone()
		cfg.NextProtos = []string{"h2"}
		return cfg
	}())
	if err == nil {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil {
		t.Fatal("a TLS client with another cluster's certificate was served")
	}
	t.Logf("another cluster's certificate: %v", err)

	// A Proto.Actor remote with the members' transport (this cluster's certificates).
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	r := remote.NewRemote(system, remote.Configure("127.0.0.1", 0,
		remote.WithDialOptions(grpc.WithTransportCredentials(credentials.NewTLS(member.Client))),
		remote.WithServerOptions(grpc.Creds(credentials.NewTLS(member.Server)))))
	r.Start()
	defer r.Shutdown(false)
	submit := func(raw, proof []byte) error {
		body, err := proto.Marshal(&clusterpb.SubmitRequest{Item: raw, Verified: proof})
		if err != nil {
			t.Fatal(err)
		}
		res, err := system.Root.RequestFuture(actor.NewPID(owner.Remote, awcluster.ForwarderName),
			&clusterpb.Call{Op: "grain.submit", Body: body, TimeoutMs: 30000}, 40*time.Second).Result()
		if err != nil {
			t.Fatalf("the owner did not answer: %v", err)
		}
		reply, ok := res.(*clusterpb.Reply)
		if !ok {
			t.Fatalf("reply %T", res)
		}
		if reply.ErrMsg != "" || reply.ErrCode != "" {
			return fmt.Errorf("%s: %s", reply.ErrCode, reply.ErrMsg)
		}
		return nil
	}
	stored := func(id ans104.ID) bool {
		_, err := ocl.Raw(ctx, fmt.Sprintf("/%s?process-id=%s", id, pid))
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status == http.StatusNotFound {
			return false
		}
		if err != nil {
			t.Fatalf("looking %s up on the owner: %v", id, err)
		}
		return true
	}
	tampered := func(data string) (*ans104.DataItem, []byte) {
		item, err := cl.MessageItem(pid, []byte(data), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			t.Fatal(err)
		}
		raw := bytes.Clone(item.Bytes())
		i := bytes.LastIndex(raw, []byte(data))
		raw[i] ^= 1 // the data no longer matches the signature; the id (the signature's hash) is unchanged
		if _, err := ans104.ParseAndVerify(raw, ans104.Limits{}); err == nil {
			t.Fatal("the tampered item still verifies")
		}
		return item, raw
	}

	for _, tc := range []struct {
		name  string
		proof func(raw []byte) []byte
	}{
		{"no proof", func([]byte) []byte { return nil }},
		{"another cluster's proof", stranger.ItemProof().Prove},
		{"a garbled proof", func(raw []byte) []byte { p := member.ItemProof().Prove(raw); p[0] ^= 1; return p }},
	} {
		item, raw := tampered("return 'injected " + tc.name + "'")
		before := metricSum(t, ctx, owner, "actorweave_signature_verifications_total", "")
		err := submit(raw, tc.proof(raw))
		if err == nil || !strings.Contains(err.Error(), "signature") {
			t.Errorf("%s: the owner answered %v, want a refusal naming the signature", tc.name, err)
		}
		if stored(item.ID()) {
			t.Errorf("%s: the owner stored a tampered item", tc.name)
		}
		if after := metricSum(t, ctx, owner, "actorweave_signature_verifications_total", ""); after <= before {
			t.Errorf("%s: the owner did not verify the item (verifications %v → %v)", tc.name, before, after)
		}
		t.Logf("%s: refused: %v", tc.name, err)
	}

	// A member's proof is a member's word: taken without a signature check.
	item, err := cl.MessageItem(pid, []byte("return 'forwarded'"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		t.Fatal(err)
	}
	before := metricSum(t, ctx, owner, "actorweave_signature_verifications_total", "")
	if err := submit(item.Bytes(), member.ItemProof().Prove(item.Bytes())); err != nil {
		t.Fatalf("a member's forwarded item: %v", err)
	}
	if !stored(item.ID()) {
		t.Fatal("a member's forwarded item is not stored")
	}
	if after := metricSum(t, ctx, owner, "actorweave_signature_verifications_total", ""); after != before {
		t.Errorf("the owner verified a member's proven item again (verifications %v → %v)", before, after)
	}
}
