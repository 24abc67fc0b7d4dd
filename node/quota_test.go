package node

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
)

func quotaHits(t *testing.T, ctx context.Context, c *client.Client, quota string) float64 {
	t.Helper()
	b, err := c.Raw(ctx, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `actorweave_quota_hits_total{quota="`+quota+`"} `); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

var evalTag = []ans104.Tag{{Name: "Action", Value: "Eval"}}

// countAction counts the messages with Action in pid's log.
func countAction(t *testing.T, ctx context.Context, c *client.Client, pid ans104.ID, action string) int {
	t.Helper()
	b, err := c.Raw(ctx, "/"+pid.String()+"?from-nonce=-1&limit=10000")
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Edges []struct {
			Node struct {
				Message *struct {
					Tags []ans104.Tag `json:"tags"`
				} `json:"message"`
			} `json:"node"`
		} `json:"edges"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range page.Edges {
		if e.Node.Message != nil && ans104.Tags(e.Node.Message.Tags).Value("Action") == action {
			n++
		}
	}
	return n
}

// TestReceiveQuota: a process over its receive rate refuses messages with 429 and a message
// naming the flag; another process is not affected.
func TestReceiveQuota(t *testing.T) {
	_, c, mod, ctx := slowNode(t, func(cfg *Config) { cfg.Actors.MaxReceiveRate = 5 })
	hot, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok, refused := 0, 0
	for i := 0; i < 20; i++ {
		_, err := c.Send(ctx, hot, []byte("return 1"), evalTag)
		var ce *client.Error
		switch {
		case err == nil:
			ok++
		case errors.As(err, &ce) && ce.Status == http.StatusTooManyRequests && strings.Contains(ce.Message, "--max-receive-rate"):
			refused++
		default:
			t.Fatal(err)
		}
	}
	if refused == 0 || ok < 5 {
		t.Fatalf("%d accepted, %d refused at 5 messages/s", ok, refused)
	}
	if _, err := c.Send(ctx, other, []byte("return 1"), evalTag); err != nil {
		t.Fatalf("another process: %v", err)
	}
	if quotaHits(t, ctx, c, "receive_rate") < float64(refused) {
		t.Fatal("receive_rate quota hits not counted")
	}
}

// loopLua installs a handler that sends Loop to the process itself for every Loop it gets, and
// starts it.
const loopLua = `Handlers.Loop = function(msg) ao.send({Target = ao.id, Action = 'Loop'}) end
ao.send({Target = ao.id, Action = 'Loop'}); return 'looping'`

// TestSelfMessagingLoop: a process messaging itself in a loop is held to its send rate (its pushes
// are delayed, which its results say), while an ordinary process next to it keeps answering.
func TestSelfMessagingLoop(t *testing.T) {
	_, c, mod, ctx := slowNode(t, func(cfg *Config) { cfg.Actors.MaxSendRate = 20 })
	loop, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Send(ctx, loop, []byte(loopLua), evalTag); err != nil {
		t.Fatal(err)
	}
	// The ordinary process answers while the loop runs.
	var worst time.Duration
	for i := 0; i < 10; i++ {
		t0 := time.Now()
		id, err := c.Send(ctx, plain, []byte(fmt.Sprintf("return %d", i)), evalTag)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Result(ctx, plain, id); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, time.Since(t0))
		time.Sleep(200 * time.Millisecond)
	}
	elapsed := time.Since(start).Seconds()
	loops := countAction(t, ctx, c, loop, "Loop")
	// At 20/s with a burst of 20 the loop cannot have sent more than 20 + 20 s⁻¹ × elapsed.
	if bound := 20 + 20*elapsed + 5; float64(loops) > bound || loops < 10 {
		t.Fatalf("%d loop messages in %.1f s at --max-send-rate 20 (bound %.0f)", loops, elapsed, bound)
	}
	if quotaHits(t, ctx, c, "send_rate") == 0 {
		t.Fatal("send_rate quota hits not counted")
	}
	// Some loop evaluation records that its push was delayed.
	b, err := c.Raw(ctx, "/results/"+loop.String()+"?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"Quota":"send_rate: pushes delayed`) {
		t.Fatal("no loop result records the send quota")
	}
	if worst > 5*time.Second {
		t.Fatalf("the ordinary process took %v to answer next to the loop", worst)
	}
	t.Logf("loop: %d messages in %.1f s (quota 20/s); ordinary process's worst round trip %v", loops, elapsed, worst)
}

// TestPushBacklogAndSpawnQuotas: pushes beyond a process's backlog quota are rejected and its
// result says so; spawns beyond the per-minute quota wait.
func TestPushBacklogAndSpawnQuotas(t *testing.T) {
	_, c, mod, ctx := slowNode(t, func(cfg *Config) {
		cfg.Actors.MaxSendRate = 2
		cfg.Actors.MaxQueuedPushes = 5
		cfg.Actors.MaxSpawnsPerMinute = 2
	})
	src, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	lua := fmt.Sprintf("for i = 1, 20 do ao.send({Target = %q, Action = 'Note'}) end; return 1", dst.String())
	id, err := c.Send(ctx, src, []byte(lua), evalTag)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.ResultJSON(ctx, src, id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"Quota":"push_backlog: 15 pushes rejected (--max-queued-pushes 5)"`) {
		t.Fatalf("result of an evaluation over the backlog quota: %s", raw)
	}
	var withRejected struct {
		Rejected []struct{ Kind, Reason string }
	}
	if err := json.Unmarshal(raw, &withRejected); err != nil || len(withRejected.Rejected) != 15 {
		t.Fatalf("result over the backlog quota lists %d rejected pushes, want 15: %s", len(withRejected.Rejected), raw)
	}
	if got := quotaHits(t, ctx, c, "push_backlog"); got != 15 {
		t.Fatalf("push_backlog hits %v, want 15", got)
	}
	// Spawns: 4 asked, 2 per minute allowed (burst 2), so after a few seconds only 2 happened.
	spawner, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, spawner, []byte(fmt.Sprintf("for i = 1, 4 do ao.spawn(%q, {}) end; return 1", mod.String())), evalTag); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		if n := countAction(t, ctx, c, spawner, "Spawned"); n > 2 {
			t.Fatalf("%d spawns delivered at 2 per minute", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := countAction(t, ctx, c, spawner, "Spawned"); n != 2 {
		t.Fatalf("%d spawns delivered, want the 2 of the burst", n)
	}
	if quotaHits(t, ctx, c, "spawn_rate") == 0 {
		t.Fatal("spawn_rate quota hits not counted")
	}
}
