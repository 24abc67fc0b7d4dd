package node

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
)

// nodeMetric reads one unlabelled sample from GET /metrics.
func nodeMetric(t *testing.T, ctx context.Context, c *client.Client, name string) float64 {
	t.Helper()
	b, err := c.Raw(ctx, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not served", name)
	return 0
}

// TestCronDormantButPunctual: processes with crons passivate between ticks, are woken for each
// tick (reactivated, tick appended and evaluated) and passivate again: they do not stay resident.
func TestCronDormantButPunctual(t *testing.T) {
	n, c, mod, ctx := slowNode(t, func(cfg *Config) { cfg.Actors.IdleTimeout = 200 * time.Millisecond })
	const procs = 3
	var pids []ans104.ID
	for i := 0; i < procs; i++ {
		pid, err := c.Spawn(ctx, mod, "", nil, cronTags("2-seconds"))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	activations := nodeMetric(t, ctx, c, "actorweave_activations_total")
	passivations := nodeMetric(t, ctx, c, "actorweave_passivations_total")
	dormant, samples := 0, 0 // samples with no live activation
	start := time.Now()
	for time.Since(start) < 7*time.Second || (dormant == 0 && time.Since(start) < 30*time.Second) {
		if n.ActiveProcesses() == 0 {
			dormant++
		}
		samples++
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range pids {
		waitTicks(t, ctx, c, pid, 2)
	}
	total := 0
	for _, pid := range pids {
		ticks := logTicks(t, ctx, c, pid)
		if len(ticks) < 2 {
			t.Fatalf("process %s got %d ticks in 7 s of a 2-second cron", pid, len(ticks))
		}
		checkTicks(t, ticks, processTimestamp(t, ctx, c, pid), 2)
		total += len(ticks)
	}
	woken := nodeMetric(t, ctx, c, "actorweave_activations_total") - activations
	slept := nodeMetric(t, ctx, c, "actorweave_passivations_total") - passivations
	if dormant == 0 {
		t.Fatal("the cron processes never were all passivated between ticks")
	}
	// Reading the logs above activates nothing (it reads the store); the ticks did.
	if woken < float64(total)-float64(procs) || slept < woken-float64(procs) {
		t.Fatalf("%d ticks, %v activations, %v passivations: processes stayed resident", total, woken, slept)
	}
	t.Logf("%d ticks: %v activations, %v passivations; all dormant in %d of %d samples", total, woken, slept, dormant, samples)
}
