package compute

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
)

func TestMessageJSON(t *testing.T) {
	signer, _ := ans104.GenerateEd25519Signer()
	pid := ans104.ID{9}
	msg := ans104.NewItem([]byte("return 1"), pid[:], []byte("00000000000000000000000000000007"), []ans104.Tag{
		{Name: "Action", Value: "Eval"}, {Name: "From", Value: "forged"}, {Name: "Owner", Value: "forged"},
		{Name: "From-Process", Value: "parent-pid"},
	})
	if err := msg.Sign(signer); err != nil {
		t.Fatal(err)
	}
	a := &ans104.Assignment{Process: pid, Epoch: 1, Nonce: 5, HashChain: ans104.ID{3}, BlockHeight: 42, Timestamp: 1700000000000, Message: msg.ID()}
	b, err := MessageJSON(&Entry{Assignment: a, Message: msg}, ans104.ID{8})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	checks := map[string]any{
		"Id": msg.ID().String(), "Owner": msg.OwnerAddress(), "From": "parent-pid", "Forwarded-By": msg.OwnerAddress(),
		"Target": pid.String(), "Data": "return 1", "Anchor": "00000000000000000000000000000007",
		"Nonce": 5.0, "Epoch": 1.0, "Timestamp": 1700000000000.0, "Block-Height": 42.0, "Cron": false,
		"Hash-Chain": ans104.ID{3}.String(), "Message": msg.ID().String(),
	}
	for k, v := range checks {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	tags := m["Tags"].([]any)
	if len(tags) != 2 {
		t.Fatalf("From and Owner tags must be stripped: %v", tags)
	}
	for _, k := range []string{"Module", "Read-Only"} {
		if _, ok := m[k]; ok {
			t.Errorf("the reference CU's message has no %s field", k)
		}
	}
	// The reference CU's key order (ao-su.js mapNode, then JSON.stringify).
	want := []string{"Id", "Signature", "Data", "Owner", "Anchor", "From", "Forwarded-By", "Tags", "Message",
		"Target", "Epoch", "Nonce", "Timestamp", "Block-Height", "Hash-Chain", "Cron"}
	if got := topKeys(t, b); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("keys %v\nwant %v", got, want)
	}

	// A user message: From is the owner, no Forwarded-By.
	user := ans104.NewItem(nil, pid[:], nil, nil)
	user.Sign(signer)
	b, _ = MessageJSON(&Entry{Assignment: a, Message: user}, ans104.ID{8})
	m = nil
	json.Unmarshal(b, &m)
	if m["From"] != user.OwnerAddress() || m["Forwarded-By"] != nil || m["Data"] != "" {
		t.Fatalf("user message %v", m)
	}
	if v, ok := m["Anchor"]; !ok || v != nil || !strings.Contains(string(b), `"Anchor":null`) {
		t.Fatalf("no anchor must be null, as the reference SU's: %s", b)
	}
}

// topKeys returns the keys of a JSON object in order.
func topKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestEnvJSON(t *testing.T) {
	signer, _ := ans104.GenerateEd25519Signer()
	p := ans104.NewItem(nil, nil, nil, []ans104.Tag{{Name: "Name", Value: "x"}})
	p.Sign(signer)
	b, err := EnvJSON(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Process":{"Id":"` + p.ID().String() + `","Owner":"` + p.OwnerAddress() + `","Tags":[{"name":"Name","value":"x"}]}}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
}

func TestDryRunJSON(t *testing.T) {
	b, err := DryRunJSON([]byte(`{"Id":"1234","Owner":"me","Tags":[{"name":"From-Process","value":"p"}],"Data":"x"}`), ans104.ID{1}, ans104.ID{2}, 77, 3)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["From"] != "p" || m["Read-Only"] != true || m["Timestamp"] != 77.0 || m["Target"] != (ans104.ID{1}).String() {
		t.Fatalf("%v", m)
	}
	if _, err := DryRunJSON([]byte(`[1]`), ans104.ID{}, ans104.ID{}, 0, 0); err == nil {
		t.Fatal("a non-object body must fail")
	}
}

// An assigned message keeps its own Target (the reference CU hydrates Target from the assigned
// transaction's recipient): an owner's Eval sent to X and assigned to Y reaches Y with Target X,
// so Y's handlers can tell it was not sent to it. The Process item keeps the process as Target.
func TestAssignedMessageKeepsTarget(t *testing.T) {
	signer, _ := ans104.GenerateEd25519Signer()
	x, y := ans104.ID{1}, ans104.ID{2}
	eval := ans104.NewItem([]byte("x = 1"), x[:], nil, []ans104.Tag{{Name: "Action", Value: "Eval"}})
	eval.Sign(signer)
	noTarget := ans104.NewItem([]byte("x"), nil, nil, nil)
	noTarget.Sign(signer)
	for _, c := range []struct {
		item *ans104.DataItem
		want string
	}{{eval, x.String()}, {noTarget, ""}} {
		a := &ans104.Assignment{Process: y, Nonce: 3, Message: c.item.ID()}
		b, _ := MessageJSON(&Entry{Assignment: a, Message: c.item}, ans104.ID{8})
		var m map[string]any
		json.Unmarshal(b, &m)
		// No Target is left out of the message, as the reference's JSON drops an undefined one.
		if got, _ := m["Target"].(string); got != c.want {
			t.Errorf("assigned message: Target %v, want %q", m["Target"], c.want)
		}
	}
	proc := ans104.NewItem(nil, nil, nil, []ans104.Tag{{Name: "Type", Value: "Process"}})
	proc.Sign(signer)
	b, _ := MessageJSON(&Entry{Assignment: &ans104.Assignment{Process: proc.ID()}, Message: proc}, ans104.ID{8})
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["Target"] != proc.ID().String() {
		t.Errorf("process item: Target %v", m["Target"])
	}
}
