package runtime

import (
	"bytes"
	"encoding/json"
)

// Result is what one message produced, in the reference loader's shape (without Memory).
type Result struct {
	Output      json.RawMessage   `json:"Output,omitempty"`
	Messages    []json.RawMessage `json:"Messages"`
	Spawns      []json.RawMessage `json:"Spawns"`
	Assignments []json.RawMessage `json:"Assignments"`
	// Error is set when the message failed: the process's own Error, a thrown error
	// ({"ok":false}), a trap, out of gas, memory or time. Memory is then left as it was.
	Error   string `json:"Error,omitempty"`
	GasUsed uint64 `json:"GasUsed"`
	// Unavailable: the message could not be evaluated now, for a reason outside the process (a
	// WeaveDrive read failed with ErrDriveUnavailable). Error says why; it is not the message's
	// answer, and memory is as before the message: evaluate it again later.
	Unavailable bool `json:"-"`
}

// parseReply parses the {"ok":bool,"response":...} string handle() returns.
func parseReply(reply []byte) *Result {
	var r struct {
		OK       bool            `json:"ok"`
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		return &Result{Error: "the module's reply is not {ok, response} JSON: " + err.Error()}
	}
	if !r.OK {
		// The reference loader throws response; the CU reports it as the Error.
		return &Result{Error: errorText(r.Response)}
	}
	var resp struct {
		Output      json.RawMessage   `json:"Output"`
		Messages    []json.RawMessage `json:"Messages"`
		Spawns      []json.RawMessage `json:"Spawns"`
		Assignments []json.RawMessage `json:"Assignments"`
		Error       json.RawMessage   `json:"Error"`
	}
	if err := json.Unmarshal(r.Response, &resp); err != nil {
		return &Result{Error: "the module's response is not an object: " + err.Error()}
	}
	res := &Result{Output: resp.Output, Messages: resp.Messages, Spawns: resp.Spawns, Assignments: resp.Assignments}
	if isNull(res.Output) {
		res.Output = nil
	}
	if !isNull(resp.Error) && string(resp.Error) != `""` {
		res.Error = errorText(resp.Error)
		res.Output = nil
	}
	return res
}

func isNull(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}

// errorText is a JSON string's value, or the JSON text of any other value.
func errorText(b json.RawMessage) string {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	if isNull(b) {
		return "error"
	}
	return string(bytes.TrimSpace(b))
}
