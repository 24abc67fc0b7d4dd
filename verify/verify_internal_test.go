package verify

import (
	"strings"
	"testing"
	"time"
)

func TestCanonicalJSONIgnoresKeyOrderAndSpacing(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{`{"a":1,"b":[1,2]}`, `{ "b": [1, 2], "a": 1 }`, true},
		{`{"a":1}`, `{"a":2}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`null`, ``, true},
		{`12345678901234567890`, `12345678901234567890`, true}, // no float rounding
		{`12345678901234567890`, `12345678901234567891`, false},
	} {
		if got := canonical([]byte(c.a)) == canonical([]byte(c.b)); got != c.same {
			t.Errorf("%s vs %s: same %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

func TestDiffShowsWhereTheyDiffer(t *testing.T) {
	d := diff(`{"data":{"output":4}}`, `{"data":{"output":"tampered"}}`)
	if !strings.Contains(d, `output\":4`) || !strings.Contains(d, "tampered") {
		t.Fatalf("diff %s", d)
	}
}

func TestSummarySaysWhatFailedFirst(t *testing.T) {
	r := &Report{Checks: []Check{{What: "log", Status: OK}, {Nonce: 3, What: "result", Status: Mismatch, Detail: "Output: x"}, {Nonce: 4, What: "final-memory", Status: Skipped}}}
	s := Summary(r.finish(time.Now()))
	if r.OK || !strings.Contains(s, "NOT VERIFIED") || !strings.Contains(s, "nonce 3 result MISMATCH: Output: x") || !strings.Contains(s, "1 ok, 1 mismatch, 0 missing, 1 skipped") {
		t.Fatalf("summary %q", s)
	}
	r = &Report{Checks: []Check{{What: "log", Status: OK}, {What: "final-memory", Status: Skipped}}}
	if s := Summary(r.finish(time.Now())); !r.OK || !strings.HasPrefix(s, "VERIFIED") {
		t.Fatalf("summary %q", s)
	}
}
