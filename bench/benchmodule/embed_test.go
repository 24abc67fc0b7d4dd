package benchmodule

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

// TestEmbeddedIsTheBuild: the embedded module is the one `make deps` builds from this repository's
// sources, byte for byte. When it fails, run `make bench-module` (rebuild and refresh the copy) and
// commit the new file.
func TestEmbeddedIsTheBuild(t *testing.T) {
	built, err := os.ReadFile(filepath.Join("..", "..", "testdata", "build", "wasm", "aoslike.wasm"))
	if err != nil {
		t.Fatalf("the built module: %v (run `make deps`)", err)
	}
	if !bytes.Equal(built, AOSLike) {
		t.Fatalf("the embedded module (sha256 %x) is not the build's (sha256 %x): run `make bench-module` and commit bench/benchmodule/aoslike.wasm",
			sha256.Sum256(AOSLike), sha256.Sum256(built))
	}
}
