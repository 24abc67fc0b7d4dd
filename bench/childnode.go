package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/node"
)

// childNode is an `actorweave node` running as a child process of the benchmark: its own data
// folder, HTTP port and (in a cluster) memberlist and gRPC ports on loopback. Separate processes
// keep protoactor's process-global state (gRPC's logger, replaced by every Remote.Start) apart, so
// a multi-node run is race-free under -race (docs/design.md §8), and each node's CPU
// time and peak memory are its own (/proc/PID).
type childNode struct {
	url  string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	// adminKey signs /cluster/status, which shows members' addresses only to a caller holding
	// the cluster key (nil: a single node, whose status hides nothing).
	adminKey []byte
}

// startChildNode runs `exe node --data dir --listen 127.0.0.1:0 args...` with env added, and
// waits for the line it prints once serving ("actorweave node listening on URL ...").
func startChildNode(exe string, env []string, dir string, args ...string) (*childNode, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	args = append([]string{"node", "--data", dir, "--listen", "127.0.0.1:0", "--log-level", "warn"}, args...)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.OpenFile(filepath.Join(dir, "node.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	cn := &childNode{dir: dir, cmd: cmd, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r) // keep the pipe drained until the child exits
	}()
	go func() { _ = cmd.Wait(); logf.Close(); close(cn.done) }()
	var line string
	select {
	case line = <-lines:
	case <-time.After(2 * time.Minute):
	}
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "http://") {
			cn.url = w
		}
	}
	if cn.url == "" {
		cn.kill()
		return nil, fmt.Errorf("bench: child node did not start (printed %q); its log:\n%s", line, cn.logTail())
	}
	return cn, nil
}

func (cn *childNode) logTail() string {
	b, _ := os.ReadFile(filepath.Join(cn.dir, "node.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func (cn *childNode) kill() {
	_ = cn.cmd.Process.Signal(syscall.SIGKILL)
	<-cn.done
}

// endAll ends every started node of nodes (nil entries: not started) with end, in parallel.
func endAll(nodes []*childNode, end func(*childNode)) {
	var wg sync.WaitGroup
	for _, cn := range nodes {
		if cn != nil {
			wg.Add(1)
			go func() { defer wg.Done(); end(cn) }()
		}
	}
	wg.Wait()
}

// stop sends SIGTERM (the node passivates and leaves) and kills it after 30 s.
func (cn *childNode) stop() {
	_ = cn.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-cn.done:
	case <-time.After(30 * time.Second):
		cn.kill()
	}
}

// cpu is the child's user+system CPU seconds so far (/proc/PID/stat, in USER_HZ = 100 ticks).
func (cn *childNode) cpu() float64 { return procCPU(cn.cmd.Process.Pid) }

// peakRSS is the child's peak resident set so far (VmHWM).
func (cn *childNode) peakRSS() uint64 { return procStatus(cn.cmd.Process.Pid, "VmHWM:") }

func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	// The command name (field 2) may hold spaces: count fields after its closing parenthesis.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // field 14, utime
	st, _ := strconv.ParseFloat(f[12], 64) // field 15, stime
	return (ut + st) / 100
}

func procStatus(pid int, key string) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == key {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// status is the node's GET /cluster/status.
func (cn *childNode) status(ctx context.Context) (*node.ClusterStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cn.url+"/cluster/status", nil)
	if err != nil {
		return nil, err
	}
	if cn.adminKey != nil {
		now := time.Now()
		req.Header.Set("X-Cluster-Time", strconv.FormatInt(now.UnixMilli(), 10))
		req.Header.Set("X-Cluster-Mac", awcluster.SignAdmin(cn.adminKey, "status", now, nil))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("%s/cluster/status: %s: %s", cn.url, resp.Status, b)
	}
	var st node.ClusterStatus
	return &st, json.NewDecoder(resp.Body).Decode(&st)
}

// self is this node's own line of its /cluster/status.
func (cn *childNode) self(ctx context.Context) (*node.MemberStatus, error) {
	st, err := cn.status(ctx)
	if err != nil {
		return nil, err
	}
	for i := range st.Members {
		if st.Members[i].Self {
			return &st.Members[i], nil
		}
	}
	return nil, fmt.Errorf("%s/cluster/status names no member as itself", cn.url)
}

// metrics reads the named counters (unlabelled samples) from the node's /metrics; a counter the
// node does not export reads 0.
func (cn *childNode) metrics(ctx context.Context, names ...string) (map[string]float64, error) {
	return scrapeMetrics(ctx, cn.url, names...)
}

// scrapeMetrics reads the named unlabelled samples from the /metrics of the node at url; a sample
// the node does not export is absent from the map (reads 0).
func scrapeMetrics(ctx context.Context, url string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/metrics: %s", url, resp.Status)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		if x, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			out[name] = x
		}
	}
	return out, sc.Err()
}
