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

// Registering a process that declares crons (at spawn, or as a replica of it) records it in the
// cron index and tells the hook; a process without crons is in neither, and a second
// registration (refused) tells nothing.
func TestPutProcessMarksCrons(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	var told []ID
	s.OnCronProcess(func(pid ID) { told = append(told, pid) })
	plain := newProcess(t)
	withCron := newProcess(t)
	withCron.Tags = append(withCron.Tags, Tag{Name: TagCronInterval, Value: "1-second"})
	for _, p := range []Process{plain, withCron} {
		if err := s.PutProcess(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutProcess(t.Context(), withCron); err == nil {
		t.Fatal("second registration accepted")
	}
	if len(told) != 1 || told[0] != withCron.ID {
		t.Fatalf("hook told %d processes, want only the cron one", len(told))
	}
	var index []ID
	if err := s.CronStates(func(c CronState) bool {
		if c.Through != 0 || len(c.Last) != 0 || c.Paused {
			t.Fatalf("marker %+v is not empty", c)
		}
		index = append(index, c.Process)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(index) != 1 || index[0] != withCron.ID {
		t.Fatalf("cron index holds %d processes, want only the cron one", len(index))
	}
}
