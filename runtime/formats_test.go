package runtime

import (
	"context"
	"testing"

	"github.com/actorweave/actorweave/runtime/internal/wasmbin"
)

// TestNewerFormats runs the aos-like module renamed to the import and export names of the
// emscripten3 and emscripten4 glue. There is no reference run: Debian's emcc 3.1.6 cannot build
// those formats and the reference loader's glue for them expects Asyncify and WeaveDrive exports.
// It checks the format-specific behaviour docs/wasm-abi.md §1 and §5 describe: Date.now is a counter
// starting at 10000 (os.time() = 10), the emscripten4 environment is empty, emscripten4 does not
// run main() (the module boots in handle), and the stack API has the newer names.
func TestNewerFormats(t *testing.T) {
	renamedImports := map[string]string{
		"abort": "_abort_js", "emscripten_memcpy_big": "_emscripten_memcpy_js",
		"_emscripten_date_now": "emscripten_date_now", "system": "_emscripten_system",
	}
	v4Exports := map[string]string{
		"stackSave": "emscripten_stack_get_current", "stackRestore": "_emscripten_stack_restore",
		"stackAlloc": "_emscripten_stack_alloc",
	}
	for _, c := range []struct {
		format   string
		exports  map[string]string
		wantHome string
	}{
		{FormatEmscripten3, nil, "/home/web_user"},
		{FormatEmscripten4, v4Exports, "nil"},
	} {
		t.Run(c.format, func(t *testing.T) {
			ctx := context.Background()
			wasm, err := wasmbin.Rename(testModule(t, "aoslike"), func(mod, name string) (string, string) {
				if n, ok := renamedImports[name]; ok {
					return mod, n
				}
				return mod, name
			}, func(name string) string {
				if n, ok := c.exports[name]; ok {
					return n
				}
				return name
			})
			if err != nil {
				t.Fatal(err)
			}
			e := newTestEngine(t, nil)
			m, err := e.Compile(ctx, wasm, c.format)
			if err != nil {
				t.Fatal(err)
			}
			in, err := e.Instantiate(ctx, m, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close(ctx)
			for i, step := range []struct{ data, want string }{
				{"return tostring(Inbox ~= nil and #Inbox == 0 and x == nil)", "true"},
				{"return os.time() .. ' ' .. tostring(os.getenv('HOME'))", "10 " + c.wantHome},
				{"x = 1 error('no')", ""},
				{"return string.format('%d %s', (x or 0) + 1, 'é€')", "1 é€"},
			} {
				r, err := in.Handle(ctx, msg("1", "Eval", step.data), []byte(testEnv))
				if err != nil {
					t.Fatal(err)
				}
				if step.want == "" {
					if r.Error == "" {
						t.Fatalf("step %d: no error", i)
					}
					continue
				}
				if r.Error != "" || outputData(t, r) != step.want {
					t.Fatalf("step %d: %q %s, want %q", i, r.Error, r.Output, step.want)
				}
			}
		})
	}
}
