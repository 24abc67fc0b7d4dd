package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
)

func TestModulePublish(t *testing.T) {
	tn := startTestNode(t)
	path := aosModule(t)
	out, err := run(t, "module", "publish", path, "--format", "wasm32-unknown-emscripten2", "--memory-limit", "512-mb",
		"--compute-limit", "9000000000000", "--tag", "Name=aoslike", "--node", tn.url, "--wallet", tn.wallet)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ans104.ParseID(lastLine(out))
	if err != nil {
		t.Fatalf("last line %q is not an id: %v", lastLine(out), err)
	}
	// The node serves the module as a gateway would: its bytes, and its tags in GraphQL.
	c := client.New(tn.url, nil)
	got, err := c.Raw(context.Background(), "/raw/"+id.String())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(path)
	if !bytes.Equal(got, want) {
		t.Fatalf("the node serves %d bytes for the module, the file has %d", len(got), len(want))
	}
	it, err := c.Raw(context.Background(), "/"+id.String())
	if err != nil || !bytes.Equal(it, want) {
		t.Fatalf("GET /%s: %v", id, err)
	}

	wasmDir := t.TempDir()
	notWasm := filepath.Join(wasmDir, "x.wasm")
	os.WriteFile(notWasm, []byte("hello"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{path}, "--format is required"},
		{[]string{path, "--format", "wasm64-unknown-emscripten-draft_2024_02_15"}, "wasm64-unknown-emscripten-draft_2024_02_15"},
		{[]string{notWasm, "--format", "wasm32-unknown-emscripten2"}, "is not a WebAssembly binary"},
		{[]string{filepath.Join(wasmDir, "missing.wasm"), "--format", "wasm32-unknown-emscripten2"}, "no such file"},
		{[]string{path, "--format", "wasm32-unknown-emscripten2", "--memory-limit", "lots"}, "--memory-limit"},
		{[]string{path, "--format", "wasm32-unknown-emscripten2", "--compute-limit", "-1"}, "--compute-limit"},
		{[]string{path, "--format", "wasm32-unknown-emscripten2", "--tag", "x"}, "NAME=VALUE"},
		{[]string{path, "--format", "wasm32-unknown-emscripten2", "--wallet", ""}, "--wallet FILE is required"},
		{[]string{path, "--format", "wasm32-unknown-emscripten2", "--wallet", notWasm}, "--wallet " + notWasm},
		{[]string{}, "accepts 1 arg"},
	} {
		args := append([]string{"module", "publish", "--node", tn.url, "--wallet", tn.wallet}, tc.args...)
		if _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("module publish %v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
