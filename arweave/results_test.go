package arweave

import (
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
)

func TestCertifiedRoundTrip(t *testing.T) {
	mem := [32]byte{9, 9}
	in := []Certified{{Nonce: 0, Outcome: [32]byte{1}, Memory: &mem}, {Nonce: 1, Outcome: [32]byte{2}, Capped: true}, {Nonce: 5, Outcome: [32]byte{3}}}
	var data []byte
	for _, c := range in {
		data = c.AppendBinary(data)
	}
	if len(data) != 3*CertifiedMinSize+32 {
		t.Fatalf("encoded %d bytes", len(data))
	}
	out, err := ParseCertified(data)
	if err != nil || len(out) != 3 {
		t.Fatal(out, err)
	}
	for i := range in {
		a, b := in[i], out[i]
		if a.Nonce != b.Nonce || a.Outcome != b.Outcome || a.Capped != b.Capped || (a.Memory == nil) != (b.Memory == nil) || (a.Memory != nil && *a.Memory != *b.Memory) {
			t.Fatalf("certificate %d: %+v, read back %+v", i, a, b)
		}
	}
	it, err := ResultBatch(ans104.ID{7}, 0, 5, data)
	if err != nil {
		t.Fatal(err)
	}
	pid, from, to, err := ResultBatchRange(it.Tags)
	if err != nil || pid != (ans104.ID{7}) || from != 0 || to != 5 {
		t.Fatal(pid, from, to, err)
	}
}

// Malformed certificate data is refused with the reason, never read half.
func TestParseCertifiedRefuses(t *testing.T) {
	one := Certified{Nonce: 3, Outcome: [32]byte{1}}.AppendBinary(nil)
	withMem := Certified{Nonce: 3, Memory: &[32]byte{}}.AppendBinary(nil)
	unknown := append([]byte(nil), one...)
	unknown[8] = 0x80
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"short":         {one[:20], "bytes left"},
		"memory cut":    {withMem[:len(withMem)-1], "memory hash cut short"},
		"unknown flags": {unknown, "unknown flags"},
		"out of order":  {append(append([]byte(nil), one...), one...), "out of order"},
	} {
		if _, err := ParseCertified(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
