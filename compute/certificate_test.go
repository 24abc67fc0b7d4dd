package compute

import (
	"encoding/json"
	"testing"

	"github.com/actorweave/actorweave/runtime"
)

// The outcome hash covers every effect of an answer and where its bytes belong, and leaves out the
// gas measurement.
func TestOutcomeHash(t *testing.T) {
	base := runtime.Result{Output: json.RawMessage(`{"data":"a"}`), Messages: []json.RawMessage{json.RawMessage(`{"Target":"x"}`)}, GasUsed: 10}
	h := OutcomeHash(&base)
	gas := base
	gas.GasUsed = 99
	if OutcomeHash(&gas) != h {
		t.Fatal("GasUsed changed the outcome hash")
	}
	variants := map[string]runtime.Result{
		"output":             {Output: json.RawMessage(`{"data":"b"}`), Messages: base.Messages},
		"message":            {Output: base.Output, Messages: []json.RawMessage{json.RawMessage(`{"Target":"y"}`)}},
		"message as spawn":   {Output: base.Output, Spawns: base.Messages},
		"message as assign":  {Output: base.Output, Assignments: base.Messages},
		"error":              {Output: base.Output, Messages: base.Messages, Error: "boom"},
		"no message":         {Output: base.Output},
		"bytes moved across": {Output: json.RawMessage(`{"data":"a"}{"Target":"x"}`)},
	}
	seen := map[[32]byte]string{h: "base"}
	for name, r := range variants {
		v := OutcomeHash(&r)
		if prev, ok := seen[v]; ok {
			t.Errorf("%s hashes like %s", name, prev)
		}
		seen[v] = name
	}
}
