package bench

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/bench/benchmodule"
)

// Program is what the scenarios send as the Data of an owner's Eval for each thing they ask of a
// process: Lua source for the aos-like Lua module and real aos builds (luaProgram), or a command of
// the embedded benchmark module's fixed vocabulary (nativeProgram, bench/benchmodule). Every other
// message (Ping, Loop, Transfer, the notices) is the same for both: the modules handle them by
// Action. programFor picks one from the module's bytes.
type Program interface {
	// Name is "lua" or "benchmodule" (the report's program parameter).
	Name() string
	// Counter increments a counter and returns it (ingest, eval, cluster, flush, forward).
	Counter() string
	// Noop returns 1 (warm-ups, wake-ups, bystanders).
	Noop() string
	// PingHandler makes a Ping of Hop < limit answer its sender with a Ping of Hop+1.
	PingHandler(limit int) string
	// PingStart sends a Ping of Hop 1 to target.
	PingStart(target ans104.ID) string
	// FanoutTargets remembers the targets; FanoutRound sends each a Ping of Hop 1 and Round r.
	FanoutTargets(targets []ans104.ID) string
	FanoutRound(r int) string
	// LoopStart makes the process send itself Loop messages, each Loop another; LoopStop ends it.
	LoopStart() string
	LoopStop() string
	// Token makes the process the token, each holder with balance; Holder makes it a holder of
	// token counting its notices; Transfer sends the token a Transfer of 1 to recipient tagged
	// X-Transfer x; HolderCounts returns "DEBITS CREDITS".
	Token(holders []ans104.ID, balance int64) string
	Holder(token ans104.ID) string
	Transfer(recipient ans104.ID, x int) string
	HolderCounts() string
	// RecordForeignTarget makes the process remember the Target of an Eval not from its owner;
	// SeenTarget returns it (hostile's assign attack).
	RecordForeignTarget() string
	SeenTarget() string
	// Output returns n bytes; Spin never ends (hostile).
	Output(n int) string
	Spin() string
}

// programFor is the Program of a module: the embedded benchmark module's vocabulary for its
// bytes, Lua for any other module.
func programFor(wasm []byte) Program {
	if bytes.Equal(wasm, benchmodule.Wasm) {
		return nativeProgram{}
	}
	return luaProgram{}
}

// evalData is data, or the program's Counter when data is empty (the scenarios' default).
func evalData(p Program, data string) string {
	if data == "" {
		return p.Counter()
	}
	return data
}

// luaProgram is aos-like Lua: ao.send queues outbox messages and Handlers[Action](msg) answers
// a message that is not an owner's Eval (runtime/testdata/modules/lua/aoslike.lua).
type luaProgram struct{}

func (luaProgram) Name() string    { return "lua" }
func (luaProgram) Counter() string { return "x = (x or 0) + 1; return x" }
func (luaProgram) Noop() string    { return "return 1" }

func (luaProgram) PingHandler(limit int) string {
	return fmt.Sprintf(`Limit = %d
Handlers.Ping = function(msg)
  local hop = 0
  for _, t in ipairs(msg.Tags or {}) do if t.name == 'Hop' then hop = tonumber(t.value) end end
  Pings = (Pings or 0) + 1
  if hop < Limit then ao.send({ Target = msg.From, Action = 'Ping', Hop = hop + 1 }) end
end
return 'ok'`, limit)
}

func (luaProgram) PingStart(target ans104.ID) string {
	return fmt.Sprintf("ao.send({ Target = '%s', Action = 'Ping', Hop = 1 }); return 'go'", target)
}

func (luaProgram) FanoutTargets(targets []ans104.ID) string {
	var list strings.Builder
	for i, t := range targets {
		if i > 0 {
			list.WriteByte(',')
		}
		fmt.Fprintf(&list, "'%s'", t)
	}
	return "Targets = {" + list.String() + "}; return #Targets"
}

func (luaProgram) FanoutRound(r int) string {
	return fmt.Sprintf("for _, t in ipairs(Targets) do ao.send({ Target = t, Action = 'Ping', Hop = 1, Round = %d }) end; return 'sent'", r)
}

func (luaProgram) LoopStart() string {
	return `Handlers.Loop = function(msg) ao.send({Target = ao.id, Action = 'Loop'}) end
ao.send({Target = ao.id, Action = 'Loop'}); return 'looping'`
}

func (luaProgram) LoopStop() string { return "Handlers.Loop = nil; return 'stopped'" }

// tokenLua is the token process (%s: the holders' initial balances as a Lua table constructor).
// Handlers[Action](msg) is how the aos-like test module dispatches a message that is not an
// owner's Eval, as aos's Handlers.add does by Action.
const tokenLua = `Balances = %s
local function tag(msg, name)
  for _, t in ipairs(msg.Tags or {}) do if t.name == name then return t.value end end
end
Handlers.Transfer = function(msg)
  local from, to = msg.From, tag(msg, 'Recipient')
  local qty = math.tointeger(tonumber(tag(msg, 'Quantity')))
  local x = tag(msg, 'X-Transfer') or ''
  if not to or not qty or qty <= 0 or (Balances[from] or 0) < qty then
    ao.send({ Target = from, Action = 'Transfer-Error', ['X-Transfer'] = x, Error = 'Insufficient Balance' })
    return
  end
  Balances[from] = Balances[from] - qty
  Balances[to] = (Balances[to] or 0) + qty
  ao.send({ Target = from, Action = 'Debit-Notice', Recipient = to, Quantity = tostring(qty), ['X-Transfer'] = x })
  ao.send({ Target = to, Action = 'Credit-Notice', Sender = from, Quantity = tostring(qty), ['X-Transfer'] = x })
end
return 'token'`

func (luaProgram) Token(holders []ans104.ID, balance int64) string {
	var bal strings.Builder
	bal.WriteByte('{')
	for _, h := range holders {
		fmt.Fprintf(&bal, "['%s'] = %d,", h, balance)
	}
	bal.WriteByte('}')
	return fmt.Sprintf(tokenLua, bal.String())
}

// holderLua is a holder process: it accepts notices only from its token and counts them.
const holderLua = `Token = '%s'
Handlers['Debit-Notice'] = function(msg)
  if msg.From ~= Token then error('not from the token') end
  Debits = (Debits or 0) + 1
end
Handlers['Credit-Notice'] = function(msg)
  if msg.From ~= Token then error('not from the token') end
  Credits = (Credits or 0) + 1
end
return 'holder'`

func (luaProgram) Holder(token ans104.ID) string { return fmt.Sprintf(holderLua, token) }

func (luaProgram) Transfer(recipient ans104.ID, x int) string {
	return fmt.Sprintf(`ao.send({ Target = Token, Action = 'Transfer', Recipient = '%s', Quantity = '1', ['X-Transfer'] = '%d' }); return 'sent'`, recipient, x)
}

func (luaProgram) HolderCounts() string { return "return (Debits or 0) .. ' ' .. (Credits or 0)" }

func (luaProgram) RecordForeignTarget() string {
	return "Handlers.Eval = function(m) SeenTarget = m.Target end; return 'ok'"
}

func (luaProgram) SeenTarget() string  { return "return SeenTarget" }
func (luaProgram) Output(n int) string { return fmt.Sprintf("return string.rep('x', %d)", n) }
func (luaProgram) Spin() string        { return "while true do end" }

// nativeProgram is the embedded benchmark module's vocabulary (bench/benchmodule/src/benchmodule.c).
type nativeProgram struct{}

func (nativeProgram) Name() string                      { return "benchmodule" }
func (nativeProgram) Counter() string                   { return "count" }
func (nativeProgram) Noop() string                      { return "noop" }
func (nativeProgram) PingHandler(limit int) string      { return fmt.Sprintf("ping-limit %d", limit) }
func (nativeProgram) PingStart(target ans104.ID) string { return "ping " + target.String() }

func (nativeProgram) FanoutTargets(targets []ans104.ID) string {
	return "targets " + joinIDs(targets)
}

func (nativeProgram) FanoutRound(r int) string { return fmt.Sprintf("fanout %d", r) }
func (nativeProgram) LoopStart() string        { return "loop-start" }
func (nativeProgram) LoopStop() string         { return "loop-stop" }

func (nativeProgram) Token(holders []ans104.ID, balance int64) string {
	return fmt.Sprintf("token %d %s", balance, joinIDs(holders))
}

func (nativeProgram) Holder(token ans104.ID) string { return "holder " + token.String() }

func (nativeProgram) Transfer(recipient ans104.ID, x int) string {
	return fmt.Sprintf("transfer %s %d", recipient, x)
}

func (nativeProgram) HolderCounts() string { return "counts" }

func (nativeProgram) RecordForeignTarget() string { return "record-target" }
func (nativeProgram) SeenTarget() string          { return "seen-target" }
func (nativeProgram) Output(n int) string         { return fmt.Sprintf("output %d", n) }
func (nativeProgram) Spin() string                { return "spin" }

func joinIDs(ids []ans104.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, " ")
}
