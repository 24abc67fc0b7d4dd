package node

import (
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

// slowNode is nodeWithModule with a one-minute request timeout: the first spawn compiles the
// module, which under -race on a loaded shared machine can take longer than the default 10 s.
func slowNode(t *testing.T, mod func(*Config)) (*Node, *client.Client, ans104.ID, context.Context) {
	return nodeWithModule(t, func(cfg *Config) {
		cfg.API.RequestTimeout = time.Minute
		if mod != nil {
			mod(cfg)
		}
	})
}

// tickRow is one cron tick as the SU API lists it.
type tickRow struct {
	nonce     uint64
	index     int
	seq       uint64
	due       int64
	timestamp int64 // the assignment's
	id        string
	tags      []ans104.Tag
}

// logTicks reads pid's whole log through the SU API and returns its cron ticks in log order.
func logTicks(t *testing.T, ctx context.Context, c *client.Client, pid ans104.ID) []tickRow {
	t.Helper()
	var out []tickRow
	from := "-1"
	for {
		b, err := c.Raw(ctx, "/"+pid.String()+"?from-nonce="+from+"&limit=1000")
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			PageInfo struct {
				HasNextPage bool `json:"has_next_page"`
			} `json:"page_info"`
			Edges []struct {
				Cursor string `json:"cursor"`
				Node   struct {
					Message *struct {
						ID   string       `json:"id"`
						Tags []ans104.Tag `json:"tags"`
					} `json:"message"`
					Assignment struct {
						Tags []ans104.Tag `json:"tags"`
					} `json:"assignment"`
				} `json:"node"`
			} `json:"edges"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Edges {
			from = e.Cursor
			m := e.Node.Message
			if m == nil {
				continue
			}
			tags := ans104.Tags(m.Tags)
			seq := tags.Value("Cron-Seq")
			if seq == "" {
				continue
			}
			r := tickRow{id: m.ID, tags: m.Tags}
			r.seq, _ = strconv.ParseUint(seq, 10, 64)
			r.index, _ = strconv.Atoi(tags.Value("Cron-Index"))
			r.due, _ = strconv.ParseInt(tags.Value("Cron-Due"), 10, 64)
			at := ans104.Tags(e.Node.Assignment.Tags)
			r.timestamp, _ = strconv.ParseInt(at.Value("Timestamp"), 10, 64)
			r.nonce, _ = strconv.ParseUint(at.Value("Nonce"), 10, 64)
			out = append(out, r)
		}
		if !page.PageInfo.HasNextPage || len(page.Edges) == 0 {
			return out
		}
	}
}

// waitTicks waits (up to 30 s: the machine may be loaded) until pid's log has n ticks.
func waitTicks(t *testing.T, ctx context.Context, c *client.Client, pid ans104.ID, n int) []tickRow {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ticks := logTicks(t, ctx, c, pid)
		if len(ticks) >= n {
			return ticks
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d ticks after 30 s, waiting for %d", len(ticks), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cronPage reads GET /cron/:pid.
func cronPage(t *testing.T, ctx context.Context, c *client.Client, pid ans104.ID, query string) (edges []json.RawMessage, outputs []string) {
	t.Helper()
	b, err := c.Raw(ctx, "/cron/"+pid.String()+query)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Edges []struct {
			Cursor string `json:"cursor"`
			Node   struct {
				Output json.RawMessage `json:"Output"`
			} `json:"node"`
		} `json:"edges"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	for _, e := range page.Edges {
		edges = append(edges, json.RawMessage(e.Cursor))
		var o struct {
			Data string `json:"data"`
		}
		_ = json.Unmarshal(e.Node.Output, &o)
		outputs = append(outputs, o.Data)
	}
	return edges, outputs
}

func cronTags(interval string, extra ...ans104.Tag) []ans104.Tag {
	return append([]ans104.Tag{{Name: "Cron-Interval", Value: interval}, {Name: "Cron-Tag-Action", Value: "Tick"}}, extra...)
}

// checkTicks checks a log's ticks: consecutive sequences from 1 (or from first), each at its due
// second by the reference rule, appended at or after it, and never twice.
func checkTicks(t *testing.T, ticks []tickRow, origin int64, every int64) {
	t.Helper()
	seen := map[uint64]bool{}
	for i, r := range ticks {
		if seen[r.seq] {
			t.Fatalf("tick %d appended twice", r.seq)
		}
		seen[r.seq] = true
		if want := (origin/1000 + int64(r.seq)*every) * 1000; r.due != want {
			t.Fatalf("tick %d due %d, want %d (origin %d)", r.seq, r.due, want, origin)
		}
		if r.timestamp < r.due {
			t.Fatalf("tick %d appended at %d, before it was due (%d)", r.seq, r.timestamp, r.due)
		}
		if i > 0 && r.seq <= ticks[i-1].seq {
			t.Fatalf("ticks out of order: %d after %d", r.seq, ticks[i-1].seq)
		}
	}
}

func processTimestamp(t *testing.T, ctx context.Context, c *client.Client, pid ans104.ID) int64 {
	t.Helper()
	b, err := c.Raw(ctx, "/processes/"+pid.String())
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Timestamp int64 `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p.Timestamp
}

// TestCronTicks: a process with a 1-second cron gets one tick per second, on time, as ordinary log
// entries carrying the cron's tags; its module sees them as the reference's cron messages (From the
// process owner); GET /cron serves their results; a bad interval refuses the spawn.
func TestCronTicks(t *testing.T) {
	_, c, mod, ctx := slowNode(t, nil)
	pid, err := c.Spawn(ctx, mod, "", nil, cronTags("1-second", ans104.Tag{Name: "Cron-Tag-Kind", Value: "heartbeat"}))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	origin := processTimestamp(t, ctx, c, pid)
	ticks := waitTicks(t, ctx, c, pid, 3)
	if due := (time.Now().UnixMilli()/1000 - origin/1000); int64(len(ticks)) > due {
		t.Fatalf("%d ticks when %d were due", len(ticks), due)
	}
	checkTicks(t, ticks, origin, 1)
	for _, r := range ticks {
		if late := r.timestamp - r.due; late > 10_000 { // generous: the machine is shared; bench cron measures it
			t.Errorf("tick %d appended %d ms late", r.seq, late)
		}
		tags := ans104.Tags(r.tags)
		if tags.Value("Action") != "Tick" || tags.Value("Kind") != "heartbeat" || tags.Value("Cron-Interval") != "1-second" {
			t.Fatalf("tick tags %v", r.tags)
		}
	}
	if ticks[0].seq != 1 {
		t.Fatalf("first tick has sequence %d", ticks[0].seq)
	}
	if n := len(logTicks(t, ctx, c, plain)); n != 0 {
		t.Fatalf("a process without crons got %d ticks", n)
	}
	// The module saw each tick from the process owner (the reference's cron message).
	owner := c.Signer.Owner()
	addr := ans104.Address(c.Signer.SignatureType(), owner)
	_, outputs := cronPage(t, ctx, c, pid, "") // evaluates up to the latest entry first
	for deadline := time.Now().Add(30 * time.Second); len(outputs) < len(ticks); {
		if time.Now().After(deadline) {
			t.Fatalf("GET /cron: %d results for %d ticks", len(outputs), len(ticks))
		}
		time.Sleep(200 * time.Millisecond)
		_, outputs = cronPage(t, ctx, c, pid, "?to=99999999999999") // a bound: no evaluation wait
	}
	for _, o := range outputs {
		if o != "New Message From "+addr+": Action = Tick" {
			t.Fatalf("cron evaluation output %q", o)
		}
	}
	// Paging: limit=1 returns one, and from its cursor the next.
	first, _ := cronPage(t, ctx, c, pid, "?limit=1")
	if len(first) != 1 {
		t.Fatalf("limit=1: %d edges", len(first))
	}
	rest, _ := cronPage(t, ctx, c, pid, "?from="+strings.Trim(string(first[0]), `"`))
	if len(rest) == 0 || len(rest) >= len(outputs)+1 {
		t.Fatalf("from the first cursor: %d edges of %d", len(rest), len(outputs))
	}
	var ce *client.Error
	for _, bad := range []string{"1-month", "500-ms", "ten-seconds", "5-fortnights"} {
		_, err := c.Spawn(ctx, mod, "", nil, cronTags(bad))
		if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || !strings.Contains(ce.Message, "Cron-Interval") {
			t.Fatalf("spawn with Cron-Interval %q: %v", bad, err)
		}
	}
	if _, err := c.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Cron-Tag-Action", Value: "x"}}); !errors.As(err, &ce) || ce.Status != http.StatusBadRequest {
		t.Fatalf("Cron-Tag without interval: %v", err)
	}
}

// TestCronMonitor: DELETE /monitor pauses a process's ticks and POST /monitor resumes them, without
// catching up the paused time.
func TestCronMonitor(t *testing.T) {
	_, c, mod, ctx := slowNode(t, nil)
	pid, err := c.Spawn(ctx, mod, "", nil, cronTags("1-second"))
	if err != nil {
		t.Fatal(err)
	}
	waitTicks(t, ctx, c, pid, 1)
	stranger, _ := ans104.GenerateEd25519Signer()
	var ce *client.Error
	if _, err := client.New(c.Base, stranger).Monitor(ctx, pid, false); !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Fatalf("unmonitor by someone else than the owner: %v", err)
	}
	if _, err := c.Monitor(ctx, pid, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // a tick already on its way may still land
	paused := len(logTicks(t, ctx, c, pid))
	time.Sleep(2500 * time.Millisecond)
	if n := len(logTicks(t, ctx, c, pid)); n != paused {
		t.Fatalf("paused process got %d more ticks", n-paused)
	}
	b, err := c.Monitor(ctx, pid, true)
	if err != nil || b != "Monitoring process" {
		t.Fatalf("monitor: %q %v", b, err)
	}
	ticks := waitTicks(t, ctx, c, pid, paused+1)
	if gap := ticks[paused].seq - ticks[paused-1].seq; gap < 2 {
		t.Fatalf("resuming caught up the paused ticks (sequence gap %d)", gap)
	}
	if _, err := c.Monitor(ctx, ans104.ID{9}, true); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
		t.Fatalf("monitor of an unknown process: %v", err)
	}
}

// TestBlockCron: block crons fire when the node's block height reaches their heights; with a static
// height (no gateway) they do not fire.
func TestBlockCron(t *testing.T) {
	n, c, mod, ctx := slowNode(t, func(cfg *Config) { cfg.BlockHeight = 100 })
	pid, err := c.Spawn(ctx, mod, "", nil, cronTags("2-blocks"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if k := logTicks(t, ctx, c, pid); len(k) != 0 {
		t.Fatalf("static height: %d block ticks", len(k))
	}
	n.SetBlockHeight(105) // heights 102 and 104 are on the cron
	deadline := time.Now().Add(30 * time.Second)
	for {
		k := logTicks(t, ctx, c, pid)
		if len(k) == 2 {
			if k[0].due != 102 || k[1].due != 104 {
				t.Fatalf("block ticks at %d, %d; want 102, 104", k[0].due, k[1].due)
			}
			return
		}
		if len(k) > 2 || time.Now().After(deadline) {
			t.Fatalf("%d block ticks, want 2", len(k))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCronOutboxIsPushed: what a cron evaluation sends is delivered by the pusher like any outbox.
func TestCronOutboxIsPushed(t *testing.T) {
	_, c, mod, ctx := slowNode(t, nil)
	other, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.Spawn(ctx, mod, "", nil, cronTags("1-second"))
	if err != nil {
		t.Fatal(err)
	}
	lua := fmt.Sprintf("Handlers.Tick = function(msg) ao.send({Target = %q, Action = 'FromCron'}) end; return 'ok'", other.String())
	id, err := c.Send(ctx, pid, []byte(lua), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Result(ctx, pid, id); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for countAction(t, ctx, c, other, "FromCron") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no message sent by a cron evaluation reached its target")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
