package cluster

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math"
	"testing"
)

func members(caps ...uint32) []Member {
	out := make([]Member, len(caps))
	for i, c := range caps {
		// Names like the real ones: wallet addresses (43 base64url characters of a hash).
		sum := sha256.Sum256([]byte{byte(i)})
		out[i] = Member{ID: fmt.Sprint("id", i), Name: base64.RawURLEncoding.EncodeToString(sum[:]), Capacity: c}
	}
	return out
}

func owners(ms []Member, keys int, want Labels) map[string]int {
	got := map[string]int{}
	for k := 0; k < keys; k++ {
		r := Rank(fmt.Sprint("process-", k), ms, want)
		if len(r) > 0 {
			got[r[0].Name]++
		}
	}
	return got
}

// Shares follow capacity: within 5% of the expected share over 60,000 keys.
func TestRankSharesFollowCapacity(t *testing.T) {
	ms := members(1, 2, 3, 4)
	const keys = 60_000
	got := owners(ms, keys, nil)
	for _, m := range ms {
		want := float64(keys) * float64(m.Capacity) / 10
		if d := math.Abs(float64(got[m.Name])-want) / want; d > 0.05 {
			t.Errorf("%s (capacity %d) owns %d keys, want about %.0f (off by %.1f%%)", m.Name, m.Capacity, got[m.Name], want, 100*d)
		}
	}
}

// A join moves only keys to the newcomer (about its share); a leave moves only the leaver's keys.
func TestRankMinimalMovement(t *testing.T) {
	before := members(1, 1, 2)
	after := append(append([]Member{}, before...), Member{ID: "new", Name: "node-new", Capacity: 1})
	const keys = 20_000
	moved := 0
	for k := 0; k < keys; k++ {
		key := fmt.Sprint("process-", k)
		a, b := Rank(key, before, nil)[0], Rank(key, after, nil)[0]
		if a.Name != b.Name {
			if b.Name != "node-new" {
				t.Fatalf("%s moved from %s to %s, not to the new member", key, a.Name, b.Name)
			}
			moved++
		}
	}
	if share := float64(moved) / keys; math.Abs(share-0.2) > 0.02 {
		t.Fatalf("join moved %.1f%% of keys, want about 20%%", 100*share)
	}
	// Leave: only the leaver's keys move, and the backup takes over (its second choice).
	for k := 0; k < keys; k++ {
		key := fmt.Sprint("process-", k)
		full := Rank(key, after, nil)
		rest := Rank(key, after[:3], nil)
		if full[0].Name != "node-new" && full[0].Name != rest[0].Name {
			t.Fatalf("%s moved from %s although it was not on the leaver", key, full[0].Name)
		}
		if full[0].Name == "node-new" && rest[0].Name != full[1].Name {
			t.Fatalf("%s: after its owner left it went to %s, not its backup %s", key, rest[0].Name, full[1].Name)
		}
	}
}

func TestRankLabels(t *testing.T) {
	ms := members(1, 1, 1, 1)
	ms[1].Labels = Labels{"region": "eu"}
	ms[3].Labels = Labels{"region": "eu", "gpu": "yes"}
	got := owners(ms, 2000, Labels{"region": "eu"})
	if got[ms[0].Name]+got[ms[2].Name] != 0 || got[ms[1].Name] == 0 || got[ms[3].Name] == 0 {
		t.Fatalf("region=eu placed on %v", got)
	}
	if r := Rank("x", ms, Labels{"region": "us"}); len(r) != 0 {
		t.Fatalf("no member has region=us, yet Rank gave %v", r)
	}
	// Owner and backup differ, and the order is the same whatever order members come in.
	r1 := Rank("p", ms, nil)
	r2 := Rank("p", []Member{ms[3], ms[1], ms[0], ms[2]}, nil)
	for i := range r1 {
		if r1[i].Name != r2[i].Name {
			t.Fatalf("rank depends on input order: %v vs %v", r1, r2)
		}
	}
	if r1[0].Name == r1[1].Name {
		t.Fatal("owner and backup are the same member")
	}
}

func TestMetaLimit(t *testing.T) {
	long := Labels{}
	for i := 0; i < 40; i++ {
		long[fmt.Sprint("label", i)] = "some-long-value"
	}
	_, err := NewProvider(Config{Listen: "127.0.0.1:0", Name: "n", Labels: long}, []string{"process"})
	if err == nil {
		t.Fatal("metadata over 512 bytes was accepted")
	}
	t.Log(err)
	if _, err := NewProvider(Config{Listen: "127.0.0.1:0", Name: "n", Labels: Labels{"region": "eu"}}, []string{"process"}); err != nil {
		t.Fatal(err)
	}
}

func TestParseLabels(t *testing.T) {
	l, err := ParseLabels(" region=eu, tier=gold ")
	if err != nil || l["region"] != "eu" || l["tier"] != "gold" || l.String() != "region=eu,tier=gold" {
		t.Fatalf("%v %v", l, err)
	}
	for _, bad := range []string{"region", "=eu", "a=b=c", "a=1,a=2"} {
		if _, err := ParseLabels(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDeriveSecurityIsDeterministic(t *testing.T) {
	a, err := DeriveSecurity([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := DeriveSecurity([]byte("0123456789abcdef0123456789abcdef"))
	c, _ := DeriveSecurity([]byte("another key, also long enough!!"))
	if string(a.CA.Raw) != string(b.CA.Raw) || string(a.GossipKey) != string(b.GossipKey) {
		t.Fatal("the same key derived different CAs or gossip keys")
	}
	if string(a.CA.Raw) == string(c.CA.Raw) || string(a.GossipKey) == string(c.GossipKey) {
		t.Fatal("different keys derived the same CA or gossip key")
	}
	if _, err := DeriveSecurity([]byte("short")); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
}
