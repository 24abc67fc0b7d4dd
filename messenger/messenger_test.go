package messenger

import (
	"encoding/json"
	"testing"

	"github.com/actorweave/actorweave/ans104"
)

func raws(t *testing.T, vs ...string) []json.RawMessage {
	t.Helper()
	out := make([]json.RawMessage, len(vs))
	for i, v := range vs {
		if !json.Valid([]byte(v)) {
			t.Fatalf("invalid JSON %s", v)
		}
		out[i] = json.RawMessage(v)
	}
	return out
}

const pidA = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

func TestPlan(t *testing.T) {
	signer, _ := ans104.GenerateEd25519Signer()
	src := Source{Process: ans104.ID{1}, Module: ans104.ID{2}, Message: ans104.ID{3}, PushedFor: ans104.ID{4}, Scheduler: "sched"}
	msgs := raws(t,
		`{"Target":"`+pidA+`","Anchor":"00000000000000000000000000000001","Tags":[{"name":"Action","value":"Ping"},{"name":"Type","value":"Evil"},{"name":"From-Process","value":"forged"}],"Data":"hi"}`,
		`{"Target":"`+pidA+`","Tags":[{"name":"Action","value":"NoAnchor"}]}`,
		`{"Target":"not-an-id","Tags":[]}`,
		`{"Target":"`+pidA+`","Tags":[{"name":"N","value":5}]}`,
	)
	spawns := raws(t, `{"Tags":[{"name":"Module","value":"`+pidA+`"},{"name":"Name","value":"kid"}],"Data":"boot"}`, `{"Tags":[]}`, `{"Module":"`+pidA+`"}`)
	assigns := raws(t, `{"Processes":["`+pidA+`"],"Message":"`+pidA+`"}`)
	pushes, rejected, err := Plan(src, msgs, spawns, assigns, signer)
	if err != nil {
		t.Fatal(err)
	}
	if len(rejected) != 3 {
		t.Fatalf("want 3 rejected (bad target, non-string tag, spawn without Module), got %+v", rejected)
	}
	if len(pushes) != 7 {
		t.Fatalf("want 2 messages + 2 spawns with notices + assign, got %d", len(pushes))
	}
	if v := pushes[4].Item.Tags.Value("Module"); pushes[4].Kind != KindSpawn || v != pidA {
		t.Fatalf("a spawn naming its module in a Module field gets the Module tag: %v", pushes[4].Item.Tags)
	}
	m := pushes[0].Item
	if err := m.Verify(); err != nil {
		t.Fatal(err)
	}
	want := []ans104.Tag{tag("Action", "Ping"), tag("Data-Protocol", "ao"), tag("Type", "Message"),
		tag("From-Process", src.Process.String()), tag("From-Module", src.Module.String()), tag("Pushed-For", src.PushedFor.String()), tag("Variant", "ao.TN.1")}
	if len(m.Tags) != len(want) {
		t.Fatalf("tags %v", m.Tags)
	}
	for i := range want {
		if m.Tags[i] != want[i] {
			t.Fatalf("tag %d = %v, want %v", i, m.Tags[i], want[i])
		}
	}
	if string(m.Anchor) != "00000000000000000000000000000001" || string(m.Data) != "hi" || m.TargetID().String() != pidA {
		t.Fatalf("fields: anchor %q data %q", m.Anchor, m.Data)
	}
	if a := pushes[1].Item.Anchor; len(a) != 32 {
		t.Fatalf("a message without Anchor must get a derived 32-byte anchor, got %q", a)
	}
	if string(pushes[1].Item.Data) != " " {
		t.Fatalf("empty data must be a space, got %q", pushes[1].Item.Data)
	}
	spawn, notice := pushes[2], pushes[3]
	if spawn.Kind != KindSpawn || spawn.Target != spawn.Item.ID() {
		t.Fatalf("spawn push %+v", spawn)
	}
	p, err := ans104.AsProcess(spawn.Item)
	if err != nil {
		t.Fatal(err)
	}
	if p.Scheduler != "sched" || spawn.Item.Tags.Value("From-Process") != src.Process.String() {
		t.Fatalf("spawn tags %v", spawn.Item.Tags)
	}
	if notice.Kind != KindSpawned || notice.Target != src.Process || notice.Item.Tags.Value("Action") != "Spawned" ||
		notice.Item.Tags.Value("Process") != spawn.Item.ID().String() || notice.Item.Tags.Value("From-Process") != src.Process.String() {
		t.Fatalf("notice %+v tags %v", notice, notice.Item.Tags)
	}
	if pushes[6].Kind != KindAssign || pushes[6].Target.String() != pidA {
		t.Fatalf("assign %+v", pushes[6])
	}

	// Determinism: the same outbox from the same source gives the same ids (exactly-once relies on
	// the persisted copy, but equal inputs must not give different items either).
	again, _, _ := Plan(src, msgs, spawns, assigns, signer)
	for i := range pushes {
		if pushes[i].Item != nil && pushes[i].Item.ID() != again[i].Item.ID() {
			t.Fatalf("push %d not deterministic", i)
		}
	}
}

func TestPushedForOf(t *testing.T) {
	signer, _ := ans104.GenerateEd25519Signer()
	user := ans104.NewItem(nil, nil, nil, []ans104.Tag{tag("Type", "Message")})
	user.Sign(signer)
	if PushedForOf(user) != user.ID() {
		t.Fatal("a user message starts its own cascade")
	}
	pushed := ans104.NewItem(nil, nil, nil, []ans104.Tag{tag("Pushed-For", pidA)})
	pushed.Sign(signer)
	if PushedForOf(pushed).String() != pidA {
		t.Fatal("a pushed message carries its cascade on")
	}
}

func tag(n, v string) ans104.Tag { return ans104.Tag{Name: n, Value: v} }
