package cron

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/actorweave/actorweave/ans104"
)

// Unit of a cron interval.
type Unit uint8

const (
	Seconds Unit = iota + 1 // time-based: Every is in seconds
	Blocks                  // block-based: Every is in Arweave blocks
)

// Spec is one cron of a process: its Cron-Interval tag, parsed, and the tags its ticks carry.
type Spec struct {
	Index    int    // position among the process's Cron-Interval tags (0-based)
	Interval string // the tag value as written, e.g. "5-minutes"
	Unit     Unit
	Every    uint64 // seconds or blocks, >= 1
	Tags     []ans104.Tag
}

// IntervalError is a Cron-Interval (or Cron-Tag) that cannot run. Spawns carrying one are refused.
type IntervalError struct {
	Tag    string
	Value  string
	Reason string
}

func (e *IntervalError) Error() string {
	return fmt.Sprintf("process tag %s %q: %s", e.Tag, e.Value, e.Reason)
}

// Time units in milliseconds, as the `ms` library the reference uses names them (case-insensitive).
// The library has no month unit: the reference turns "1-month" into NaN and the cron never fires;
// here it is an error at spawn instead.
var units = map[string]float64{
	"years": 31557600000, "year": 31557600000, "yrs": 31557600000, "yr": 31557600000, "y": 31557600000,
	"weeks": 604800000, "week": 604800000, "w": 604800000,
	"days": 86400000, "day": 86400000, "d": 86400000,
	"hours": 3600000, "hour": 3600000, "hrs": 3600000, "hr": 3600000, "h": 3600000,
	"minutes": 60000, "minute": 60000, "mins": 60000, "min": 60000, "m": 60000,
	"seconds": 1000, "second": 1000, "secs": 1000, "sec": 1000, "s": 1000,
	"milliseconds": 1, "millisecond": 1, "msecs": 1, "msec": 1, "ms": 1,
}

// ParseInterval reads "<n>-<unit>": a time (units as the `ms` library accepts them, at least one
// second once rounded down to whole seconds, as the reference requires) or "<n>-block(s)".
func ParseInterval(v string) (Unit, uint64, error) {
	bad := func(reason string) (Unit, uint64, error) {
		return 0, 0, &IntervalError{Tag: "Cron-Interval", Value: v, Reason: reason}
	}
	num, unit, ok := strings.Cut(strings.TrimSpace(v), "-")
	num, unit = strings.TrimSpace(num), strings.ToLower(strings.TrimSpace(unit))
	if !ok || num == "" || unit == "" {
		return bad(`want "<number>-<unit>", e.g. "10-seconds", "5-minutes" or "10-blocks"`)
	}
	if unit == "block" || unit == "blocks" {
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || n == 0 {
			return bad("a block interval needs a whole number of blocks >= 1")
		}
		return Blocks, n, nil
	}
	if unit == "month" || unit == "months" || unit == "mo" {
		return bad("months are not a unit of the reference (its `ms` parser has none, so such a cron never fires there); use days")
	}
	per, ok := units[unit]
	if !ok {
		return bad(fmt.Sprintf("unknown unit %q (seconds, minutes, hours, days, weeks, years, or blocks)", unit))
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return bad(fmt.Sprintf("%q is not a positive number", num))
	}
	secs := math.Floor(f * per / 1000)
	if secs < 1 {
		return bad("time-based cron cannot be less than 1 second")
	}
	if secs > 1e15 {
		return bad("interval too long")
	}
	return Seconds, uint64(secs), nil
}

// Parse returns the crons of a process item (nil when it declares none), or an error naming the
// bad tag.
func Parse(proc *ans104.DataItem) ([]Spec, error) {
	var specs []Spec
	for _, t := range proc.Tags {
		switch {
		case t.Name == "Cron-Interval":
			u, every, err := ParseInterval(t.Value)
			if err != nil {
				return nil, err
			}
			specs = append(specs, Spec{Index: len(specs), Interval: t.Value, Unit: u, Every: every})
		case strings.HasPrefix(t.Name, "Cron-Tag-"):
			if len(specs) == 0 {
				return nil, &IntervalError{Tag: t.Name, Value: t.Value, Reason: "a Cron-Tag must follow a Cron-Interval"}
			}
			name := strings.TrimPrefix(t.Name, "Cron-Tag-")
			if name == "" {
				return nil, &IntervalError{Tag: t.Name, Value: t.Value, Reason: "empty tag name"}
			}
			s := &specs[len(specs)-1]
			s.Tags = append(s.Tags, ans104.Tag{Name: name, Value: t.Value})
		}
	}
	return specs, nil
}

// Origin is where a process's crons count from: its scheduling timestamp (ms) and block height.
type Origin struct {
	Timestamp int64
	Height    uint64
}

func (o Origin) seconds() int64 { return floorDiv(o.Timestamp, 1000) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Due is when tick seq (>= 1) of a time cron falls, in ms (a whole second), or at which height for
// a block cron.
func (s Spec) Due(o Origin, seq uint64) int64 {
	if s.Unit == Blocks {
		return int64(o.Height + seq*s.Every)
	}
	return (o.seconds() + int64(seq*s.Every)) * 1000
}

// Last is the sequence of the last tick of s due at or before now (ms) for a time cron, or at or
// below height for a block cron; 0 when none is due yet.
func (s Spec) Last(o Origin, now int64, height uint64) uint64 {
	if s.Unit == Blocks {
		if height <= o.Height {
			return 0
		}
		return (height - o.Height) / s.Every
	}
	d := floorDiv(now, 1000) - o.seconds()
	if d <= 0 {
		return 0
	}
	return uint64(d) / s.Every
}

// NextTimeDue is the earliest due time (ms) among the time crons after the given last sequences
// (last[i] is the last tick of specs[i] in the log or skipped); ok is false without time crons.
func NextTimeDue(specs []Spec, o Origin, last []uint64) (due int64, ok bool) {
	for i, s := range specs {
		if s.Unit != Seconds {
			continue
		}
		d := s.Due(o, last[i]+1)
		if !ok || d < due {
			due, ok = d, true
		}
	}
	return due, ok
}

// Policy is what happens to ticks missed while the node was down.
type Policy uint8

const (
	CatchUpAll    Policy = iota + 1 // every missed tick is appended, in order
	CatchUpLatest                   // only the latest missed tick of each cron
	CatchUpNone                     // missed ticks are skipped; ticking resumes with the next one due
)

// ParsePolicy reads all, latest or none.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "all":
		return CatchUpAll, nil
	case "latest":
		return CatchUpLatest, nil
	case "none":
		return CatchUpNone, nil
	}
	return 0, fmt.Errorf("cron catch-up policy %q: want all, latest or none", s)
}

func (p Policy) String() string {
	switch p {
	case CatchUpAll:
		return "all"
	case CatchUpLatest:
		return "latest"
	case CatchUpNone:
		return "none"
	}
	return "unknown"
}

// Tick is one tick to schedule.
type Tick struct {
	Cron int    // Spec.Index
	Seq  uint64 // >= 1
	Due  int64  // ms for time crons, height for block crons
}

// Window is one decision of the ticker for a process.
type Window struct {
	Now    int64  // ms: time ticks due at or before it are due
	Height uint64 // block ticks at or below it are due
	// MissedBefore (ms), when non-zero, marks the ticks due at or before it as missed during
	// downtime: Policy decides what happens to them. Height-based ticks at or below MissedHeight
	// likewise.
	MissedBefore int64
	MissedHeight uint64
	Policy       Policy
	Max          int // at most this many ticks (0: no bound); the rest come in the next window
}

// Due lists the ticks to append after last (the last sequence per cron), in the order the
// reference interleaves them: by due time, block crons before time crons at the same moment, time
// crons from the most to the least frequent. skipped[i] is the sequence up to which cron i's
// missed ticks were dropped by the policy (the caller records it so they are not considered again).
func Due(specs []Spec, o Origin, last []uint64, w Window) (ticks []Tick, skipped []uint64) {
	skipped = append([]uint64(nil), last...)
	for i, s := range specs {
		hi := s.Last(o, w.Now, w.Height)
		lo := last[i] + 1
		if hi < lo {
			continue
		}
		var missed uint64 // ticks lo..missed are missed ones
		if s.Unit == Blocks && w.MissedHeight > 0 {
			missed = min(s.Last(o, 0, w.MissedHeight), hi)
		} else if s.Unit == Seconds && w.MissedBefore > 0 {
			missed = min(s.Last(o, w.MissedBefore, 0), hi)
		}
		if missed >= lo {
			switch w.Policy {
			case CatchUpNone:
				skipped[i] = missed
				lo = missed + 1
			case CatchUpLatest:
				skipped[i] = missed - 1
				lo = missed
			}
		}
		for q := lo; q <= hi; q++ {
			if w.Max > 0 && q-lo >= uint64(w.Max) {
				break // bounded per cron; sorted and cut to Max below
			}
			ticks = append(ticks, Tick{Cron: i, Seq: q, Due: s.Due(o, q)})
		}
	}
	sort.SliceStable(ticks, func(a, b int) bool {
		ta, tb := ticks[a], ticks[b]
		sa, sb := specs[ta.Cron], specs[tb.Cron]
		ka, kb := sortTime(sa, ta, o), sortTime(sb, tb, o)
		if ka != kb {
			return ka < kb
		}
		if sa.Unit != sb.Unit {
			return sa.Unit == Blocks
		}
		if sa.Every != sb.Every {
			return sa.Every < sb.Every
		}
		return sa.Index < sb.Index
	})
	if w.Max > 0 && len(ticks) > w.Max {
		ticks = ticks[:w.Max]
	}
	return ticks, skipped
}

// sortTime places block ticks by height and time ticks by due time; the two never mix in one
// process without a block clock, so block ticks order among themselves and come first.
func sortTime(s Spec, t Tick, o Origin) int64 {
	if s.Unit == Blocks {
		return math.MinInt64 + t.Due
	}
	return t.Due
}
