package cluster

import (
	"fmt"
	"testing"
)

// TestViewReplicas: a replica set is the router's order (Owners) cut to the factor: its first
// member is the owner the router picks, it never names a member twice or one without the labels,
// it is shorter only when fewer members can hold the process, and a lost member's place is taken by
// the next in the order while every surviving member keeps its relative rank (so the survivors of
// an owner's list are all in the new owner's list: what failover relies on).
func TestViewReplicas(t *testing.T) {
	ms := members(1, 2, 1, 3, 1)
	ms[1].Labels = Labels{"region": "eu"}
	ms[3].Labels = Labels{"region": "eu"}
	v := &View{Members: ms}
	for k := 0; k < 500; k++ {
		pid := fmt.Sprint("process-", k)
		all := v.Owners(pid, nil)
		for factor := 0; factor <= 6; factor++ {
			got := v.Replicas(pid, nil, factor)
			want := min(max(factor, 1), len(ms))
			if len(got) != want {
				t.Fatalf("%s factor %d: %d replicas, want %d", pid, factor, len(got), want)
			}
			seen := map[string]bool{}
			for i, m := range got {
				if m.Name != all[i].Name {
					t.Fatalf("%s factor %d: replica %d is %s, the router's order has %s", pid, factor, i, m.Name, all[i].Name)
				}
				if seen[m.Name] {
					t.Fatalf("%s factor %d: %s twice", pid, factor, m.Name)
				}
				seen[m.Name] = true
			}
			if o, _ := v.Owner(pid, nil); got[0].Name != o.Name {
				t.Fatalf("%s: replica set's owner %s, router's %s", pid, got[0].Name, o.Name)
			}
		}
		eu := v.Replicas(pid, Labels{"region": "eu"}, 3)
		if len(eu) != 2 {
			t.Fatalf("%s: %d replicas with region=eu, want the 2 members that have it", pid, len(eu))
		}
		for _, m := range eu {
			if m.Labels["region"] != "eu" {
				t.Fatalf("%s: replica %s lacks region=eu", pid, m.Name)
			}
		}
		// Lose the owner and the second member of a factor-3 list: the survivor is still in the
		// list, and the rest of the list is filled from the order.
		three := v.Replicas(pid, nil, 3)
		var rest []Member
		for _, m := range ms {
			if m.Name != three[0].Name && m.Name != three[1].Name {
				rest = append(rest, m)
			}
		}
		after := (&View{Members: rest}).Replicas(pid, nil, 3)
		if len(after) != 3 || after[0].Name != three[2].Name {
			t.Fatalf("%s: after losing the first two of %v the list is %v, want the third first", pid, names(three), names(after))
		}
	}
	if r := (&View{}).Replicas("p", nil, 3); len(r) != 0 {
		t.Fatalf("no members: %v", names(r))
	}
}

func names(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}
