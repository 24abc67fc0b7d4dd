package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// diffCase is one message of a differential run. exactError: the error text is the module's own
// (compare it); otherwise it is a host error (a trap, abort...) whose wording differs between V8
// and wazero, and only its presence is compared.
type diffCase struct {
	action, data string
	exactError   bool
}

// TestDifferentialAoLoader runs every test module in the reference loader (@permaweb/ao-loader
// under node) and in this runtime, message by message, and requires the same Output, Messages,
// Spawns, Assignments, Error, GasUsed, and the same SHA-256 of the whole linear memory.
func TestDifferentialAoLoader(t *testing.T) {
	suites := []struct {
		module       string
		computeLimit uint64
		cases        []diffCase
	}{
		{module: "aoslike", cases: []diffCase{
			{"Eval", "return 1+1", true},
			{"Eval", "error('boom')", true},
			{"Eval", "print('hi there') ao.send({Target='xyz', Data='hello', Action='Ping'}) return os.date('%Y-%m-%d %H:%M:%S') .. ' ' .. os.time() .. ' ' .. tostring(os.getenv('PATH')) .. ' ' .. tostring(io.open('/etc/passwd'))", true},
			{"Eval", "t = {} for i = 1, 50000 do t[i] = 'x' .. i end return #t", true},
			{"Throw", "outside", true},
			{"Eval", "assert(os.execute('touch /tmp/actorweave-must-not-exist'))", true},
			{"Eval", "local ok, e = pcall(function() error({code = 1}) end) local ok2 = pcall(pcall, error, 'x') return tostring(ok) .. type(e) .. tostring(ok2) .. utf8.char(233, 8364)", true},
			{"Ping", "", true},
			{"Eval", "return math.random(1, 100) .. ' ' .. math.random(1, 100)", true},
			{"Eval", "x = (x or 0) + 1 return x", true},
			{"Eval", "x = (x or 0) + 1 return x", true},
			{"Eval", "return string.format('%5.2f|%q', 3.14159, 'a\\nb') .. os.clock() .. os.difftime(10, 4) .. os.date('!%c', 86400 * 365)", true},
			{"Eval", "local s = string.rep('ab', 1e6) return #s", true},
			{"Eval", "return #t", true},
		}},
		{module: "aoslike", computeLimit: 500_000_000, cases: []diffCase{
			{"Eval", "y = 1 return y", true},
			{"Eval", "while true do y = y + 1 end", true}, // out of gas!
			{"Eval", "return y", true},
		}},
		{module: "sjlj", cases: []diffCase{
			{"jump", "3", true}, {"jump", "10", true}, {"trap", "", false}, {"jump", "1", true},
			{"abort", "", false}, {"exit", "", false}, {"other", "", true}, {"recurse", "", false}, {"jump", "2", true},
		}},
		{module: "heap", cases: []diffCase{
			{"alloc", "100", true}, {"alloc", "3000", true}, {"alloc", "20000", true},
			{"alloc", "600000", true}, {"alloc", "1", true}, {"alloc", "150000", true},
		}},
		{module: "timeio", cases: []diffCase{{"t", "", true}, {"t", "", true}}},
	}
	for _, s := range suites {
		t.Run(fmt.Sprintf("%s/limit=%d", s.module, s.computeLimit), func(t *testing.T) {
			var msgs [][]byte
			for i, c := range s.cases {
				msgs = append(msgs, msg(fmt.Sprint(i+1), c.action, c.data))
			}
			ref := runAoLoader(t, s.module, FormatEmscripten2, msgs, s.computeLimit)
			e := newTestEngine(t, nil)
			in := newTestInstance(t, e, s.module, Limits{ComputeLimit: s.computeLimit})
			for i, c := range s.cases {
				got, err := in.Handle(context.Background(), msgs[i], []byte(testEnv))
				if err != nil {
					t.Fatalf("message %d: %v", i+1, err)
				}
				compareLine(t, i+1, c, ref[i], got, in)
			}
		})
	}
}

func compareLine(t *testing.T, n int, c diffCase, ref evalLine, got *Result, in *Instance) {
	t.Helper()
	where := fmt.Sprintf("message %d (%s %q)", n, c.action, c.data)
	if (ref.Error != "") != (got.Error != "") {
		t.Errorf("%s: Error: reference %q, actorweave %q", where, ref.Error, got.Error)
	} else if c.exactError && ref.Error != got.Error {
		t.Errorf("%s: Error text: reference %q, actorweave %q", where, ref.Error, got.Error)
	}
	if ref.GasUsed != nil && *ref.GasUsed != got.GasUsed {
		t.Errorf("%s: GasUsed: reference %d, actorweave %d", where, *ref.GasUsed, got.GasUsed)
	}
	if !jsonEqual(ref.Output, got.Output) {
		t.Errorf("%s: Output:\nreference  %s\nactorweave %s", where, ref.Output, got.Output)
	}
	if ref.Error == "" {
		for _, f := range []struct {
			name     string
			ref, got []json.RawMessage
		}{{"Messages", ref.Messages, got.Messages}, {"Spawns", ref.Spawns, got.Spawns}, {"Assignments", ref.Assignments, got.Assignments}} {
			a, _ := json.Marshal(f.ref)
			b, _ := json.Marshal(f.got)
			if !jsonEqual(a, b) {
				t.Errorf("%s: %s: reference %s, actorweave %s", where, f.name, a, b)
			}
		}
	}
	sum, size := memHex(in)
	if ref.MemorySha256 != sum || ref.MemoryBytes != size {
		t.Errorf("%s: memory: reference %d bytes %s, actorweave %d bytes %s", where, ref.MemoryBytes, ref.MemorySha256, size, sum)
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	if isNull(a) || isNull(b) {
		return isNull(a) == isNull(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	return reflect.DeepEqual(x, y)
}
