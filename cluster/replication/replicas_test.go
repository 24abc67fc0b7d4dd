package replication

import (
	"errors"
	"fmt"
	"testing"
)

// TestReplicasBackups: the backups a write must reach are the list after its owner, cut to the
// factor, without this node or empty places, each once.
func TestReplicasBackups(t *testing.T) {
	l := Replicas{"a", "b", "c", "d"}
	for _, c := range []struct {
		self   string
		factor int
		want   string
	}{
		{"a", 1, "[]"}, {"a", 2, "[b]"}, {"a", 3, "[b c]"}, {"a", 4, "[b c d]"}, {"a", 5, "[b c d]"},
		{"b", 3, "[c]"}, // a node the view names as a backup does not replicate to itself
		{"x", 2, "[b]"},
	} {
		if got := fmt.Sprint(l.backupsOf(c.self, c.factor)); got != c.want {
			t.Errorf("%v from %s, factor %d: backups %s, want %s", l, c.self, c.factor, got, c.want)
		}
	}
	if got := fmt.Sprint(Replicas{"a", "", "b", "b"}.backupsOf("a", 4)); got != "[b]" {
		t.Errorf("empty and repeated places: %s", got)
	}
	if l.Owner() != "a" || l.Backup() != "b" || Replicas(nil).Owner() != "" || (Replicas{"a"}).Backup() != "" {
		t.Error("Owner/Backup")
	}
	for f, ok := range map[int]bool{-1: false, 0: true, 1: true, 3: true, MaxFactor: true, MaxFactor + 1: false} {
		if err := CheckFactor(f); (err == nil) != ok {
			t.Errorf("CheckFactor(%d) = %v", f, err)
		}
	}
}

// TestWorstError: of the answers of several backups, a fence wins over everything, unreachable
// loses to everything (it alone is waited out and retried).
func TestWorstError(t *testing.T) {
	unreach := fmt.Errorf("x: %w", ErrBackupUnreachable)
	other := errors.New("disk full")
	fenced := fmt.Errorf("x: %w", ErrNotOwner)
	resync := fmt.Errorf("x: %w", ErrResync)
	for _, c := range []struct {
		errs []error
		want error
	}{
		{[]error{nil, nil}, nil},
		{[]error{unreach, nil}, unreach},
		{[]error{unreach, other}, other},
		{[]error{resync, other, unreach}, resync},
		{[]error{unreach, resync, fenced}, fenced},
	} {
		if got := worstError(c.errs); got != c.want {
			t.Errorf("%v: %v, want %v", c.errs, got, c.want)
		}
	}
}
