package cron

import (
	"bytes"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
)

func TestParseInterval(t *testing.T) {
	cases := []struct {
		in    string
		unit  Unit
		every uint64
		err   string
	}{
		{"1-second", Seconds, 1, ""},
		{"10-seconds", Seconds, 10, ""},
		{"5-minutes", Seconds, 300, ""},
		{"1-Hour", Seconds, 3600, ""},
		{"2-days", Seconds, 172800, ""},
		{"1-week", Seconds, 604800, ""},
		{"1-year", Seconds, 31557600, ""},
		{"1.5-minutes", Seconds, 90, ""},
		{"1500-ms", Seconds, 1, ""},
		{"10-blocks", Blocks, 10, ""},
		{"1-block", Blocks, 1, ""},
		{"500-ms", 0, 0, "less than 1 second"},
		{"1-month", 0, 0, "months"},
		{"3-fortnights", 0, 0, "unknown unit"},
		{"seconds", 0, 0, "<number>-<unit>"},
		{"0-blocks", 0, 0, "whole number"},
		{"1.5-blocks", 0, 0, "whole number"},
		{"-1-seconds", 0, 0, "<number>-<unit>"},
		{"x-seconds", 0, 0, "not a positive number"},
	}
	for _, c := range cases {
		u, every, err := ParseInterval(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "Cron-Interval") {
				t.Errorf("%q: error %v, want one containing %q and naming the tag", c.in, err, c.err)
			}
			continue
		}
		if err != nil || u != c.unit || every != c.every {
			t.Errorf("%q: %v %d %v, want %v %d", c.in, u, every, err, c.unit, c.every)
		}
	}
}

func TestParseTags(t *testing.T) {
	proc := ans104.NewItem(nil, nil, nil, []ans104.Tag{{Name: "Foo", Value: "x"},
		{Name: "Cron-Interval", Value: "10-blocks"}, {Name: "Cron-Tag-Action", Value: "Tick"},
		{Name: "Cron-Interval", Value: "2-seconds"}, {Name: "Cron-Tag-Action", Value: "Fast"}, {Name: "Cron-Tag-N", Value: "1"}})
	specs, err := Parse(proc)
	if err != nil || len(specs) != 2 {
		t.Fatal(specs, err)
	}
	if specs[0].Unit != Blocks || specs[0].Every != 10 || len(specs[0].Tags) != 1 || specs[1].Every != 2 || len(specs[1].Tags) != 2 {
		t.Fatalf("%+v", specs)
	}
	bad := ans104.NewItem(nil, nil, nil, []ans104.Tag{{Name: "Cron-Tag-Action", Value: "Tick"}})
	if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "Cron-Tag-Action") {
		t.Fatalf("Cron-Tag first: %v", err)
	}
}

// The reference rule: (t - origin) mod s == 0 on whole seconds, the origin itself excluded.
func TestDueFollowsTheReferenceRule(t *testing.T) {
	s := Spec{Unit: Seconds, Every: 3}
	o := Origin{Timestamp: 10_700} // 10.7 s: counts from second 10
	if got := s.Due(o, 1); got != 13_000 {
		t.Fatalf("first tick at %d, want 13000", got)
	}
	for now, want := range map[int64]uint64{10_700: 0, 12_999: 0, 13_000: 1, 15_999: 1, 16_000: 2, 100_000: 30} {
		if got := s.Last(o, now, 0); got != want {
			t.Errorf("Last(%d) = %d, want %d", now, got, want)
		}
	}
	// Brute force against the rule itself, second by second.
	for sec := int64(10); sec < 200; sec++ {
		on := sec != 10 && (sec-10)%3 == 0
		k := s.Last(o, sec*1000, 0)
		if on != (k > 0 && s.Due(o, k) == sec*1000) {
			t.Fatalf("second %d: on=%v but Last=%d Due=%d", sec, on, k, s.Due(o, k))
		}
	}
	b := Spec{Unit: Blocks, Every: 5}
	if b.Last(Origin{Height: 100}, 0, 104) != 0 || b.Last(Origin{Height: 100}, 0, 105) != 1 || b.Due(Origin{Height: 100}, 2) != 110 {
		t.Fatal("block rule")
	}
}

func TestDuePolicies(t *testing.T) {
	specs := []Spec{{Index: 0, Unit: Seconds, Every: 1}, {Index: 1, Unit: Seconds, Every: 2}}
	o := Origin{Timestamp: 0}
	last := []uint64{3, 1} // ticks up to 3 s and 2 s are in the log
	w := Window{Now: 10_500, MissedBefore: 10_500}
	w.Policy = CatchUpAll
	ticks, skipped := Due(specs, o, last, w)
	if len(ticks) != 7+4 || skipped[0] != 3 || skipped[1] != 1 {
		t.Fatalf("all: %d ticks %v", len(ticks), skipped)
	}
	for i := 1; i < len(ticks); i++ {
		if ticks[i].Due < ticks[i-1].Due || ticks[i].Due == ticks[i-1].Due && ticks[i].Cron < ticks[i-1].Cron {
			t.Fatalf("out of order: %v", ticks)
		}
	}
	w.Policy = CatchUpLatest
	ticks, skipped = Due(specs, o, last, w)
	if len(ticks) != 2 || ticks[0].Seq != 10 || ticks[1].Seq != 5 || skipped[0] != 9 || skipped[1] != 4 {
		t.Fatalf("latest: %v %v", ticks, skipped)
	}
	w.Policy = CatchUpNone
	ticks, skipped = Due(specs, o, last, w)
	if len(ticks) != 0 || skipped[0] != 10 || skipped[1] != 5 {
		t.Fatalf("none: %v %v", ticks, skipped)
	}
	// Ticks after the downtime are never dropped.
	w.Now = 12_000
	ticks, _ = Due(specs, o, last, w)
	if len(ticks) != 3 { // 11 s and 12 s of cron 0, 12 s of cron 1
		t.Fatalf("after downtime: %v", ticks)
	}
	// Max bounds a window.
	ticks, _ = Due(specs, o, []uint64{0, 0}, Window{Now: 1_000_000, Policy: CatchUpAll, Max: 5})
	if len(ticks) != 5 || ticks[4].Due > 4000 {
		t.Fatalf("max: %v", ticks)
	}
}

func TestTickItemIsDeterministic(t *testing.T) {
	signer, _ := ans104.GenerateEd25519Signer()
	pid := ans104.ID{7}
	s := Spec{Index: 1, Interval: "1-second", Unit: Seconds, Every: 1, Tags: []ans104.Tag{{Name: "Action", Value: "Tick"}}}
	a, b := Item(pid, "owner", s, Tick{Cron: 1, Seq: 42, Due: 42_000}), Item(pid, "owner", s, Tick{Cron: 1, Seq: 42, Due: 42_000})
	if err := a.Sign(signer); err != nil {
		t.Fatal(err)
	}
	_ = b.Sign(signer)
	if a.ID() != b.ID() || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same tick signed twice differs")
	}
	c := Item(pid, "owner", s, Tick{Cron: 1, Seq: 43, Due: 43_000})
	_ = c.Sign(signer)
	if c.ID() == a.ID() {
		t.Fatal("different ticks share an id")
	}
	parsed, err := ans104.ParseAndVerify(a.Bytes(), ans104.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	info, ok := ParseTick(parsed)
	if !ok || info.Index != 1 || info.Seq != 42 || info.Due != 42_000 || info.Owner != "owner" || len(info.Tags) != 1 || info.Tags[0].Value != "Tick" {
		t.Fatalf("%+v %v", info, ok)
	}
	// A pushed item (From-Process) is never a tick, whatever its tags.
	forged := Item(pid, "owner", s, Tick{Cron: 1, Seq: 1, Due: 1000})
	forged.Tags = append(forged.Tags, ans104.Tag{Name: "From-Process", Value: "x"})
	if _, ok := ParseTick(forged); ok {
		t.Fatal("an item with From-Process parsed as a tick")
	}
}
