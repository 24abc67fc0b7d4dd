package compute

import (
	"encoding/json"
	"testing"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/cron"
)

// A tick signed by the scheduler of its assignment is the reference's cron message; the same item
// signed by anyone else is an ordinary message.
func TestTickMessageJSON(t *testing.T) {
	node, _ := ans104.GenerateEd25519Signer()
	other, _ := ans104.GenerateEd25519Signer()
	pid := ans104.ID{9}
	spec := cron.Spec{Index: 0, Interval: "1-second", Unit: cron.Seconds, Every: 1, Tags: []ans104.Tag{{Name: "Action", Value: "Tick"}}}
	render := func(tickSigner ans104.Signer) map[string]any {
		tick := cron.Item(pid, "the-owner", spec, cron.Tick{Seq: 3, Due: 3000})
		if err := tick.Sign(tickSigner); err != nil {
			t.Fatal(err)
		}
		a := ans104.Assignment{Process: pid, Nonce: 4, Timestamp: 3002, Message: tick.ID()}
		asg := ans104.NewItem(nil, nil, nil, a.Tags())
		if err := asg.Sign(node); err != nil {
			t.Fatal(err)
		}
		b, err := MessageJSON(&Entry{Assignment: &a, AssignmentItem: asg, Message: tick}, ans104.ID{8})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	m := render(node)
	if m["Cron"] != true || m["From"] != "the-owner" || m["Owner"] != "the-owner" || m["Timestamp"] != 3002.0 {
		t.Fatalf("tick: %v", m)
	}
	tags := m["Tags"].([]any)
	if len(tags) != 1 || tags[0].(map[string]any)["value"] != "Tick" {
		t.Fatalf("tick tags: %v", tags)
	}
	m = render(other)
	if m["Cron"] != false || m["From"] == "the-owner" {
		t.Fatalf("a tick signed by someone else than the scheduler was taken for a cron message: %v", m)
	}
}
