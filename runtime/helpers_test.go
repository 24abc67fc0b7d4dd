package runtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/actorweave/actorweave/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func repoRoot(t testing.TB) string { return testutil.RepoRoot(t) }

func testModule(t testing.TB, name string) []byte { return testutil.Module(t, name) }

// aoLoaderDriver returns the path of the node driver, failing when node or the npm packages are
// missing.
func aoLoaderDriver(t testing.TB) string {
	t.Helper()
	root := repoRoot(t)
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: run `make deps`")
	}
	if _, err := os.Stat(filepath.Join(root, "testdata", "node", "node_modules", "@permaweb", "ao-loader")); err != nil {
		t.Fatal("@permaweb/ao-loader is not installed in testdata/node: run `make deps`")
	}
	return filepath.Join(root, "testdata", "node", "aoloader-run.cjs")
}

const testEnv = `{"Process":{"Id":"PROCESS","Owner":"OWNER","Tags":[]}}`

// msg builds a message in the reference loader's shape, serialised as JSON.stringify would.
func msg(id, action, data string) []byte {
	m := []struct {
		k string
		v any
	}{
		{"Id", id}, {"Owner", "OWNER"}, {"From", "OWNER"}, {"Target", "PROCESS"}, {"Module", "MODULE"},
		{"Timestamp", "1700000000000"}, {"Block-Height", "1000"},
		{"Tags", []map[string]string{{"name": "Action", "value": action}}}, {"Data", data},
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.k)
		b.Write(k)
		b.WriteByte(':')
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(kv.v)
		b.Truncate(b.Len() - 1) // Encode's newline
	}
	b.WriteByte('}')
	return b.Bytes()
}

// evalLine is one line of `actorweave eval` / aoloader-run.cjs output.
type evalLine struct {
	Output       json.RawMessage   `json:"Output"`
	Messages     []json.RawMessage `json:"Messages"`
	Spawns       []json.RawMessage `json:"Spawns"`
	Assignments  []json.RawMessage `json:"Assignments"`
	Error        string            `json:"Error"`
	GasUsed      *uint64           `json:"GasUsed"`
	MemorySha256 string            `json:"MemorySha256"`
	MemoryBytes  int               `json:"MemoryBytes"`
}

// runAoLoader evaluates msgs in the reference loader and returns one line per message.
func runAoLoader(t testing.TB, module, format string, msgs [][]byte, computeLimit uint64) []evalLine {
	t.Helper()
	return runAoLoaderFile(t, filepath.Join(repoRoot(t), "testdata", "build", "wasm", module+".wasm"), format, msgs, computeLimit)
}

func runAoLoaderFile(t testing.TB, path, format string, msgs [][]byte, computeLimit uint64) []evalLine {
	t.Helper()
	driver := aoLoaderDriver(t)
	args := []string{driver}
	if isWasm64(format) {
		args = []string{"--experimental-wasm-memory64", driver}
	}
	cmd := exec.Command("node", args...)
	cmd.Env = append(os.Environ(), "AW_MODULE="+path, "AW_FORMAT="+format, "TZ=UTC")
	if computeLimit > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("AW_COMPUTE_LIMIT=%d", computeLimit))
	}
	cmd.Stdin = bytes.NewReader(append(bytes.Join(msgs, []byte("\n")), '\n'))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ao-loader driver: %v\n%s", err, stderr.String())
	}
	var lines []evalLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var l evalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("ao-loader driver output %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != len(msgs) {
		t.Fatalf("ao-loader driver printed %d lines for %d messages\n%s", len(lines), len(msgs), stderr.String())
	}
	return lines
}

// newTestEngine returns an engine whose ThisProgram is the node driver's path, as the reference
// glue passes process.argv[1] to main().
func newTestEngine(t testing.TB, mutate func(*Config)) *Engine {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ThisProgram = filepath.Join(repoRoot(t), "testdata", "node", "aoloader-run.cjs")
	if mutate != nil {
		mutate(&cfg)
	}
	e, err := NewEngine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

func newTestInstance(t testing.TB, e *Engine, module string, limits Limits) *Instance {
	t.Helper()
	ctx := context.Background()
	m, err := e.Compile(ctx, testModule(t, module), FormatEmscripten2)
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.Instantiate(ctx, m, limits)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close(ctx) })
	return in
}

// outputData extracts Output.data.output of the aos-like module as a string.
func outputData(t testing.TB, r *Result) string {
	t.Helper()
	var o struct {
		Data struct {
			Output json.RawMessage `json:"output"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Output, &o); err != nil {
		t.Fatalf("output %s: %v", r.Output, err)
	}
	return strings.Trim(string(o.Data.Output), `"`)
}

func memHex(in *Instance) (string, int) {
	sum, n := in.MemorySha256()
	return fmt.Sprintf("%x", sum), n
}
