package runtime

import (
	"strings"
	"testing"
)

// ParseDrivePath: the reference's categories, and refusals of anything that could name more.
func TestParseDrivePath(t *testing.T) {
	id := strings.Repeat("a", 42) + "Q"
	cases := []struct {
		path     string
		kind, ok string // ok: "ok", "no" (the reference's 0), or the error's words
	}{
		{"/data/" + id, "data", "ok"},
		{"/tx/" + id, "tx", "ok"},
		{"/block/1439783", "block", "ok"},
		{"/headers/" + id, "", "no"},
		{"/etc/passwd", "", "no"},
		{"data/" + id, "", "no"},
		{"", "", "no"},
		{"/data/../../etc/passwd", "", "path traversal"},
		{"/../data/" + id, "", "path traversal"},
		{"/data/./" + id, "", "path traversal"},
		{"/data/" + id + "/x", "", "want /data/<id>"},
		{"/data/" + id[:42], "", "bad id"},
		{"/data/" + id[:42] + "+", "", "bad id"},
		{"/data/", "", "bad id"},
		{"/block/-1", "", "bad block height"},
		{"/block/12345678901234567890", "", "bad block height"},
		{"/data/a\\b", "", "bad path"},
		{"/data/" + strings.Repeat("x", 2000), "", "at most"},
	}
	for _, c := range cases {
		p, ok, err := ParseDrivePath(c.path)
		switch c.ok {
		case "ok":
			if err != nil || !ok || p.Kind != c.kind {
				t.Errorf("%q: %+v %v %v", c.path, p, ok, err)
			}
		case "no":
			if err != nil || ok {
				t.Errorf("%q: %+v %v %v, want not served", c.path, p, ok, err)
			}
		default:
			if err == nil || !strings.Contains(err.Error(), c.ok) {
				t.Errorf("%q: %v, want an error with %q", c.path, err, c.ok)
			}
		}
	}
}
