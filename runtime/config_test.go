package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		err  bool
	}{
		{"1-gb", 1 << 30, false}, {"512-mb", 512 << 20, false}, {"16384-mb", 16384 << 20, false},
		{"100-b", 100, false}, {"1.5-gb", 3 << 29, false}, {"1-GB", 1 << 30, false}, {"64-kb", 64 << 10, false},
		{"524288000", 524288000, false}, {"2-tb", 2 << 40, false},
		{"", 0, true}, {"gb", 0, true}, {"1-zb", 0, true}, {"-1-gb", 0, true}, {"0-b", 0, true}, {"1e3-mb", 0, true},
	} {
		got, err := ParseMemoryLimit(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseMemoryLimit(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestParseComputeLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		err  bool
	}{
		{"9000000000000", 9e12, false}, {"9e12", 9e12, false}, {" 42 ", 42, false},
		{"0", 0, true}, {"-5", 0, true}, {"lots", 0, true}, {"", 0, true},
	} {
		got, err := ParseComputeLimit(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseComputeLimit(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestCheckFormat(t *testing.T) {
	for _, f := range SupportedFormats() {
		if err := CheckFormat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, c := range []struct{ format, mustSay string }{
		{"wasm64-unknown-emscripten-draft_2099_01_01", "wasm64-unknown-emscripten-draft_2024_02_15"},
		{"wasm32-wasi", "wasm32-unknown-emscripten2"},
		{"", "supported"},
	} {
		err := CheckFormat(c.format)
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.mustSay) || !strings.Contains(err.Error(), `"`+c.format+`"`) {
			t.Errorf("CheckFormat(%q) = %v; want an ErrFormat naming the format and saying %q", c.format, err, c.mustSay)
		}
	}
}

func TestCompileRejects(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, nil)
	if _, err := e.Compile(ctx, []byte("not wasm"), FormatEmscripten2); err == nil {
		t.Error("garbage compiled")
	}
	wasm := testModule(t, "aoslike")
	if _, err := e.Compile(ctx, wasm, "wasm64-unknown-emscripten-draft_2024_02_15"); err == nil || !strings.Contains(err.Error(), "memory64") {
		t.Errorf("wasm64: %v", err)
	}
	// The aos-like module imports env.* names: in the minified format they are not provided.
	if _, err := e.Compile(ctx, wasm, FormatEmscripten); err == nil || !strings.Contains(err.Error(), "env.") {
		t.Errorf("wrong format: %v", err)
	}
	// A valid module without memory and handle.
	if _, err := e.Compile(ctx, []byte{0, 'a', 's', 'm', 1, 0, 0, 0}, FormatEmscripten2); err == nil {
		t.Error("a module without memory and handle compiled")
	}
	m, err := e.Compile(ctx, wasm, FormatEmscripten2)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Metered() || m.Format() != FormatEmscripten2 {
		t.Errorf("metered %v format %s", m.Metered(), m.Format())
	}
	if _, err := e.Instantiate(ctx, m, Limits{MemoryLimit: 1 << 20}); err == nil {
		t.Error("instantiated with a memory limit below the module's initial memory")
	}
}

func TestParseReply(t *testing.T) {
	for _, c := range []struct {
		reply, wantErr, wantOut string
		msgs                    int
	}{
		{`{"ok":true,"response":{"Output":{"data":1},"Messages":[{"Target":"a"}],"Spawns":[],"Assignments":[]}}`, "", `{"data":1}`, 1},
		{`{"ok":true,"response":{"Error":"boom","Output":"x","Messages":[]}}`, "boom", "", 0},
		{`{"ok":true,"response":{"Error":{"code":123,"message":"handled"}}}`, `{"code":123,"message":"handled"}`, "", 0},
		{`{"ok":false,"response":"thrown"}`, "thrown", "", 0},
		{`{"ok":false,"response":{"a":1}}`, `{"a":1}`, "", 0},
		{`not json`, "not {ok, response} JSON", "", 0},
		{`{"ok":true,"response":[1]}`, "not an object", "", 0},
		{`{"ok":true,"response":{"Output":null,"Error":null}}`, "", "", 0},
	} {
		r := parseReply([]byte(c.reply))
		if !strings.Contains(r.Error, c.wantErr) || (c.wantErr == "" && r.Error != "") || string(r.Output) != c.wantOut || len(r.Messages) != c.msgs {
			t.Errorf("parseReply(%s) = %+v", c.reply, r)
		}
	}
}
