package wasmbin

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The Go port of the reference metering writes the same code as @permaweb/wasm-metering did for the
// test modules (scripts/deps.d/20-wasm-modules.sh meters NAME.raw.wasm into NAME.wasm with it).
func TestMeterReferenceMatchesWasmMetering(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "testdata", "build", "wasm")
	raws, _ := filepath.Glob(filepath.Join(dir, "*.raw.wasm"))
	if len(raws) == 0 {
		t.Skip("no test modules: run scripts/deps.sh")
	}
	for _, raw := range raws {
		name := filepath.Base(raw[:len(raw)-len(".raw.wasm")])
		ref, err := os.ReadFile(filepath.Join(dir, name+".wasm"))
		if err != nil {
			continue
		}
		in, err := os.ReadFile(raw)
		if err != nil {
			t.Fatal(err)
		}
		i64 := bytes.Contains([]byte(name), []byte("64"))
		got, err := MeterReference(in, i64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		gs, _ := splitSections(got)
		rs, _ := splitSections(ref)
		want := map[byte][]byte{}
		for _, s := range rs {
			if s.id != 0 {
				want[s.id] = s.body
			}
		}
		for _, s := range gs {
			if s.id == 0 {
				continue
			}
			if !bytes.Equal(s.body, want[s.id]) {
				t.Errorf("%s: section %d differs from wasm-metering's (%d vs %d bytes)", name, s.id, len(s.body), len(want[s.id]))
			}
		}
		t.Logf("%s: %d sections identical to wasm-metering's", name, len(gs))
	}
}

func TestMeterReferenceRefuses(t *testing.T) {
	mem := []byte{0x00, 1}
	for _, c := range []struct {
		name string
		wasm []byte
	}{
		{"bulk memory", buildModule(mem, []testFunc{{name: "a", code: []byte{0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 11, 0}}})},
		{"passive data", buildModule(mem, nil)}, // buildModule has a passive segment
	} {
		if _, err := MeterReference(c.wasm, false); !errors.Is(err, ErrMeter) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
