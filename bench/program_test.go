package bench

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/bench/benchmodule"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/runtime"
)

// TestProgramsAnswerAlike runs the same conversation through the embedded benchmark module with
// its commands and through the aos-like Lua module with the Lua source, in actorweave's runtime,
// and requires the same answers from both: each message's outputs, errors and outbox messages
// (Target, Tags, Data, Anchor). So a scenario observes the same behaviour whichever module it
// runs, and the token's balances and notices come out the same.
func TestProgramsAnswerAlike(t *testing.T) {
	if programFor(benchmodule.Wasm).Name() != "benchmodule" {
		t.Fatal("the embedded module does not select its own program")
	}
	lua := testutil.Module(t, "aoslike")
	if programFor(lua).Name() != "lua" {
		t.Fatal("the Lua module does not select the Lua program")
	}
	id := func(i byte) ans104.ID { return ans104.ID{i, 1, 2, 3} }
	proc, peer, other, holder1, holder2, stranger, token := id(1), id(2), id(3), id(4), id(5), id(6), id(7)
	owner := "OWNER"
	type step struct {
		from, action string
		tags         []ans104.Tag
		data         func(Program) string
		target       ans104.ID // zero: the process
	}
	eval := func(f func(Program) string) step { return step{from: owner, action: "Eval", data: f} }
	steps := []step{
		eval(func(p Program) string { return p.Counter() }),
		eval(func(p Program) string { return p.Counter() }),
		eval(func(p Program) string { return p.Noop() }),
		eval(func(p Program) string { return p.PingHandler(3) }),
		{from: peer.String(), action: "Ping", tags: []ans104.Tag{{Name: "Hop", Value: "1"}}},
		{from: peer.String(), action: "Ping", tags: []ans104.Tag{{Name: "Hop", Value: "3"}}},
		eval(func(p Program) string { return p.PingStart(peer) }),
		eval(func(p Program) string { return p.FanoutTargets([]ans104.ID{peer, other}) }),
		eval(func(p Program) string { return p.FanoutRound(4) }),
		eval(func(p Program) string { return p.LoopStart() }),
		{from: proc.String(), action: "Loop"},
		eval(func(p Program) string { return p.LoopStop() }),
		{from: proc.String(), action: "Loop"},
		eval(func(p Program) string { return p.Token([]ans104.ID{holder1, holder2}, 5) }),
		{from: holder1.String(), action: "Transfer", tags: []ans104.Tag{{Name: "Recipient", Value: holder2.String()}, {Name: "Quantity", Value: "1"}, {Name: "X-Transfer", Value: "7"}}},
		{from: stranger.String(), action: "Transfer", tags: []ans104.Tag{{Name: "Recipient", Value: holder2.String()}, {Name: "Quantity", Value: "1"}, {Name: "X-Transfer", Value: "8"}}},
		eval(func(p Program) string { return p.Holder(token) }),
		{from: token.String(), action: "Debit-Notice"},
		{from: token.String(), action: "Credit-Notice"},
		{from: token.String(), action: "Credit-Notice"},
		{from: stranger.String(), action: "Credit-Notice"},
		eval(func(p Program) string { return p.HolderCounts() }),
		eval(func(p Program) string { return p.Transfer(holder2, 9) }),
		eval(func(p Program) string { return p.RecordForeignTarget() }),
		{from: stranger.String(), action: "Eval", target: other},
		eval(func(p Program) string { return p.SeenTarget() }),
		eval(func(p Program) string { return p.Output(10) }),
		eval(func(p Program) string { return p.Spin() }),
		eval(func(p Program) string { return p.Counter() }),
		{from: stranger.String(), action: "Tick"},
	}
	ctx := context.Background()
	eng, err := runtime.NewEngine(ctx, runtime.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	env := []byte(`{"Process":{"Id":"` + proc.String() + `","Owner":"` + owner + `","Tags":[]}}`)
	run := func(wasm []byte) []string {
		p := programFor(wasm)
		mod, err := eng.Compile(ctx, wasm, benchmodule.Format)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := eng.Instantiate(ctx, mod, runtime.Limits{ComputeLimit: 1e9})
		if err != nil {
			t.Fatal(err)
		}
		defer inst.Close(ctx)
		var answers []string
		for i, s := range steps {
			target := s.target
			if target == (ans104.ID{}) {
				target = proc
			}
			data := ""
			if s.data != nil {
				data = s.data(p)
			}
			m := map[string]any{"Id": strconv.Itoa(i), "Owner": s.from, "From": s.from, "Target": target.String(),
				"Tags": append([]ans104.Tag{{Name: "Action", Value: s.action}}, s.tags...), "Data": data}
			b, _ := json.Marshal(m)
			res, err := inst.Handle(ctx, b, env)
			if err != nil {
				t.Fatalf("%s, step %d: %v", p.Name(), i, err)
			}
			var out any
			_ = json.Unmarshal(res.Output, &out)
			var msgs []any
			for _, raw := range res.Messages {
				var v any
				_ = json.Unmarshal(raw, &v)
				msgs = append(msgs, v)
			}
			got := map[string]any{"output": out, "error": res.Error != "", "messages": msgs}
			g, _ := json.Marshal(got)
			answers = append(answers, string(g))
		}
		return answers
	}
	native, luaAnswers := run(benchmodule.Wasm), run(lua)
	for i := range steps {
		if !reflect.DeepEqual(native[i], luaAnswers[i]) {
			t.Errorf("step %d (%s):\n benchmodule %s\n lua         %s", i, steps[i].action, native[i], luaAnswers[i])
		}
	}
}
