package compute

import (
	"testing"

	"github.com/actorweave/actorweave/ans104"
)

func TestLimitsFor(t *testing.T) {
	item := func(tags ...string) *ans104.DataItem {
		var ts []ans104.Tag
		for i := 0; i < len(tags); i += 2 {
			ts = append(ts, ans104.Tag{Name: tags[i], Value: tags[i+1]})
		}
		return ans104.NewItem(nil, nil, nil, ts)
	}
	module := item("Memory-Limit", "1-mb", "Compute-Limit", "1000")
	cases := []struct {
		name           string
		proc           *ans104.DataItem
		memory, comput uint64
		err            bool
	}{
		{"the module's when the process names none", item(), 1 << 20, 1000, false},
		{"the process's tag wins", item("Memory-Limit", "2-mb", "Compute-Limit", "9e3"), 2 << 20, 9000, false},
		{"each tag falls back on its own", item("Compute-Limit", "5"), 1 << 20, 5, false},
		{"a bad tag is an error, not a default", item("Memory-Limit", "lots"), 0, 0, true},
	}
	for _, c := range cases {
		l, err := LimitsFor(c.proc, module)
		if (err != nil) != c.err {
			t.Fatalf("%s: err %v", c.name, err)
		}
		if !c.err && (l.MemoryLimit != c.memory || l.ComputeLimit != c.comput) {
			t.Errorf("%s: got memory %d compute %d, want %d %d", c.name, l.MemoryLimit, l.ComputeLimit, c.memory, c.comput)
		}
	}
	if l, err := LimitsFor(item(), item()); err != nil || l.MemoryLimit != 0 || l.ComputeLimit != 0 {
		t.Errorf("no tags anywhere: %+v %v (zero means the engine's default)", l, err)
	}
}
