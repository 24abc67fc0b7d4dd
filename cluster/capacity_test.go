package cluster

import "testing"

// TestWithoutSelf: the drained view places nothing on this node, places what it held on the
// others, and leaves the view it was computed from as it was.
func TestWithoutSelf(t *testing.T) {
	self := Member{ID: "a-1", Name: "a", Address: "127.0.0.1:1", Capacity: 1}
	v := &View{Self: self, Members: []Member{self, {ID: "b-1", Name: "b", Address: "127.0.0.1:2", Capacity: 1},
		{ID: "c-1", Name: "c", Address: "127.0.0.1:3", Capacity: 2}}}
	w := WithoutSelf(v)
	if w.Self.Capacity != 0 || w.Members[0].Capacity != 0 || w.Members[1].Capacity != 1 || w.Members[2].Capacity != 2 {
		t.Fatalf("drained view %+v", w)
	}
	if v.Self.Capacity != 1 || v.Members[0].Capacity != 1 {
		t.Fatal("WithoutSelf changed the view it was given")
	}
	for _, pid := range []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"} {
		if o, ok := w.Owner(pid, nil); !ok || o.Name == "a" {
			t.Fatalf("process %s placed on %+v (ok %v) once a drains", pid, o, ok)
		}
	}
}
