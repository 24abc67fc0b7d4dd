package cluster

import (
	"hash/fnv"
	"math"
	"sort"
	"strings"
)

// Member is one node of the cluster as placement and routing see it.
type Member struct {
	// ID is the Proto.Actor actor system id of this incarnation of the node (new on every start).
	ID string `json:"id"`
	// Name is the node's stable placement name (its node key's wallet address): placement hashes
	// it, not ID, so a node restarted on the same data folder owns the same processes again.
	Name string `json:"name"`
	// Address is the Proto.Actor remote address, exactly as the actor system reports it.
	Address string `json:"address"`
	// Gossip is the memberlist address.
	Gossip string `json:"gossip,omitempty"`
	// Capacity is the relative weight: a member of capacity 2 gets about twice the processes.
	Capacity uint32 `json:"capacity"`
	// Labels describe the node (region=eu); processes may require labels.
	Labels   Labels `json:"labels,omitempty"`
	Protocol uint16 `json:"protocol"`
}

// Labels are key=value pairs.
type Labels map[string]string

// Matches reports whether l has every pair of want.
func (l Labels) Matches(want Labels) bool {
	for k, v := range want {
		if l[k] != v {
			return false
		}
	}
	return true
}

// String renders k=v,k=v in key order (the flag and tag syntax).
func (l Labels) String() string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + l[k])
	}
	return b.String()
}

// Rank orders the members able to hold key, best first, by weighted rendezvous hashing: each member
// scores capacity / -ln(u) with u = hash(key, member name) mapped into (0, 1), so the chance that a
// member wins is its capacity over the total (Schindelhauer & Schomaker's logarithmic method), and
// adding or removing one member moves only the keys it wins or held. Members lacking a label in
// want are left out. Rank is pure: every node computes the same order from the same member set.
func Rank(key string, members []Member, want Labels) []Member {
	type scored struct {
		m     Member
		score float64
	}
	cands := make([]scored, 0, len(members))
	for _, m := range members {
		if m.Capacity == 0 || !m.Labels.Matches(want) {
			continue
		}
		cands = append(cands, scored{m, float64(m.Capacity) / -math.Log(unit(key, m.Name))})
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].m.Name < cands[j].m.Name
	})
	out := make([]Member, len(cands))
	for i, c := range cands {
		out[i] = c.m
	}
	return out
}

// unit hashes (key, name) to a float in the open interval (0, 1).
func unit(key, name string) float64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(name))
	x := h.Sum64()
	// FNV's low bits mix poorly for similar inputs; a final avalanche (splitmix64) fixes that.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	// 53 random bits → [0, 1), shifted half a step so neither 0 nor 1 occurs.
	return (float64(x>>11) + 0.5) / (1 << 53)
}
