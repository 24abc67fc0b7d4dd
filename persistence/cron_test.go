package persistence

import (
	"slices"
	"testing"
)

func TestCronStates(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	a, b := randID(t), randID(t)
	if _, ok, err := s.GetCronState(a); ok || err != nil {
		t.Fatal(ok, err)
	}
	want := []CronState{{Process: a, Through: 7, Last: []uint64{3, 1 << 40}}, {Process: b, Paused: true, Last: []uint64{}}}
	for _, c := range want {
		if err := s.PutCronState(c, c.Paused); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = openTest(t, dir, Options{})
	defer s.Close()
	got := map[ID]CronState{}
	if err := s.CronStates(func(c CronState) bool { got[c.Process] = c; return true }); err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		g := got[w.Process]
		if g.Through != w.Through || g.Paused != w.Paused || !slices.Equal(g.Last, w.Last) {
			t.Fatalf("%+v, want %+v", g, w)
		}
	}
	if c, ok, err := s.GetCronState(a); !ok || err != nil || c.Last[1] != 1<<40 {
		t.Fatal(c, ok, err)
	}
}
