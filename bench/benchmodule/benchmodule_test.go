package benchmodule

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBuildReproducible rebuilds src/benchmodule.wasm from src/benchmodule.c with src/build.sh (emcc, then the
// Go port of the reference metering) and requires the committed bytes: the embedded module is what
// its source builds. It needs emscripten (make deps installs Debian's); without emcc it skips.
func TestBuildReproducible(t *testing.T) {
	if _, err := exec.LookPath("emcc"); err != nil {
		t.Skip("emcc not on PATH (make deps installs Debian's emscripten): the committed src/benchmodule.wasm is not rebuilt")
	}
	out := filepath.Join(t.TempDir(), "benchmodule.wasm")
	cmd := exec.Command("bash", filepath.Join("src", "build.sh"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	built, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, Wasm) {
		t.Fatalf("benchmodule.c builds %d bytes that differ from the committed src/benchmodule.wasm (%d bytes): "+
			"rebuild it with bench/benchmodule/src/build.sh bench/benchmodule/src/benchmodule.wasm and commit both", len(built), len(Wasm))
	}
}
