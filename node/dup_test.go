package node

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
)

// statusOf is the HTTP status in a client error ("node answered 503: ..."), or "".
func statusOf(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if i := strings.Index(s, "answered "); i >= 0 && len(s) >= i+12 {
		return s[i+9 : i+12]
	}
	return ""
}

// TestClusterDuplicateOfPendingWrite: a retry of a message whose first attempt is still waiting
// for the backup must not be told "already exists" (409, which a client takes for an
// acknowledgement): the first attempt can still fail, and then the message is nowhere. The retry
// gets the first attempt's outcome. Found by TestClusterKill9, where a 409 acknowledged a message
// no log held.
func TestClusterDuplicateOfPendingWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two member nodes")
	}
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := &testCluster{t: t}
	for i := 0; i < 2; i++ {
		// Requests give up after 15 s (the router retries a refused write until then).
		c.members = append(c.members, startMemberNodeIn(t, nil, []string{"AW_CLUSTER_REQUEST_TIMEOUT=15s"}, t.TempDir(), ""))
	}
	c.setMembers()
	user, _ := ans104.GenerateEd25519Signer()
	clientOf := memberClients(user, time.Minute)
	modItem := signModule(t, user, wasm)
	c.publish(ctx, modItem)
	signer := client.New("http://unused", user)
	proc, err := signer.Sign([]byte(" "), nil, nil, []ans104.Tag{
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Process"},
		{Name: "Module", Value: modItem.ID().String()}, {Name: "Scheduler", Value: c.scheduler()},
		{Name: "Nonce-Salt", Value: fmt.Sprint(rand.Int63())}})
	if err != nil {
		t.Fatal(err)
	}
	pid := proc.ID()
	owner, backup := c.owner(pid)
	if _, err := clientOf(owner).PostItem(ctx, proc); err != nil {
		t.Fatalf("spawn: %v", err)
	}
	msg, err := signer.MessageItem(pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		t.Fatal(err)
	}
	// The backup freezes: the first attempt waits for it (--replication-wait, 10 s) and then fails.
	_ = backup.cmd.Process.Signal(syscall.SIGSTOP)
	defer func() { _ = backup.cmd.Process.Signal(syscall.SIGCONT) }()
	first := make(chan error, 1)
	go func() { _, err := clientOf(owner).PostItem(ctx, msg); first <- err }()
	time.Sleep(time.Second)
	_, retryErr := clientOf(owner).PostItem(ctx, msg)
	firstErr := <-first
	t.Logf("first attempt: %v; retry while it was pending: %v", firstErr, retryErr)
	if firstErr == nil {
		t.Fatal("the first attempt was acknowledged with the backup frozen")
	}
	if retryErr == nil || conflict(retryErr) {
		t.Fatalf("the retry of a pending message got %v; want the first attempt's failure", retryErr)
	}
	if first, retry := statusOf(firstErr), statusOf(retryErr); first == "" || first != retry {
		t.Fatalf("the retry got %v, want the first attempt's outcome %v", retryErr, firstErr)
	}
}
