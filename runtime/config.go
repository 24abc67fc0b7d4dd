package runtime

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Defaults of the limits. Every limit has a default and a flag (docs/design.md invariant 7).
const (
	// DefaultMemoryLimit matches the 500 MiB maximum memory of the aos 1.x builds.
	DefaultMemoryLimit uint64 = 524_288_000
	// DefaultComputeLimit is the reference loader's default gas limit (9e15).
	DefaultComputeLimit uint64 = 9_000_000_000_000_000
	// DefaultDeadline bounds the wall-clock time of one message on top of the compute limit.
	DefaultDeadline = 30 * time.Second
	// DefaultThisProgram is argv[0] given to main() and the "_" environment variable. The
	// reference loader uses node's script path (process.argv[1]); a fixed value keeps every node
	// deterministic. It must be the same wherever a process is replayed.
	DefaultThisProgram = "./this.program"
	// DefaultSnapshotEvery is how many successful messages may be kept in the replay journal
	// before a new base snapshot of the memory is taken (see doc.go, "Errors never advance state").
	DefaultSnapshotEvery = 64
	// DefaultJournalBytes bounds the bytes of message and env JSON kept in the replay journal.
	DefaultJournalBytes = 8 << 20
)

// Config configures an Engine.
type Config struct {
	// CacheDir holds wazero's compilation cache; "" keeps compiled code in memory only.
	CacheDir string
	// Limits are the default limits of instances created without explicit ones.
	Limits Limits
	// ThisProgram is the program name the host gives to main() and the environment.
	ThisProgram string
	// SnapshotEvery and JournalBytes bound the replay journal of each instance.
	SnapshotEvery int
	JournalBytes  int
}

// Limits bound one instance. A zero field means the engine default.
type Limits struct {
	// MemoryLimit is the largest linear memory in bytes (the Memory-Limit tag).
	MemoryLimit uint64
	// ComputeLimit is the gas a message may use (the Compute-Limit tag); only modules that
	// import metering.usegas can be charged.
	ComputeLimit uint64
	// Deadline is the wall-clock bound of one message.
	Deadline time.Duration
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		Limits:        Limits{MemoryLimit: DefaultMemoryLimit, ComputeLimit: DefaultComputeLimit, Deadline: DefaultDeadline},
		ThisProgram:   DefaultThisProgram,
		SnapshotEvery: DefaultSnapshotEvery,
		JournalBytes:  DefaultJournalBytes,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.ThisProgram == "" {
		c.ThisProgram = d.ThisProgram
	}
	if c.SnapshotEvery <= 0 {
		c.SnapshotEvery = d.SnapshotEvery
	}
	if c.JournalBytes <= 0 {
		c.JournalBytes = d.JournalBytes
	}
	c.Limits = c.Limits.or(d.Limits)
	return c
}

func (l Limits) or(d Limits) Limits {
	if l.MemoryLimit == 0 {
		l.MemoryLimit = d.MemoryLimit
	}
	if l.ComputeLimit == 0 {
		l.ComputeLimit = d.ComputeLimit
	}
	if l.Deadline == 0 {
		l.Deadline = d.Deadline
	}
	return l
}

var sizeUnits = map[string]uint64{
	"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50,
}

// ParseMemoryLimit parses a Memory-Limit value as the reference CU does: the first "-" is dropped
// and the rest is read by the `bytes` npm library, whose units are binary (1-kb = 1024 B), case
// insensitive, with optional spaces and a decimal part ("1-gb", "512-mb", "16384-mb", "100-b",
// "1.5-gb"). A bare integer is a number of bytes.
func ParseMemoryLimit(s string) (uint64, error) {
	orig := s
	s = strings.ToLower(strings.TrimSpace(strings.Replace(s, "-", "", 1)))
	if s == "" {
		return 0, fmt.Errorf("memory limit %q: empty", orig)
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	if unit == "" {
		unit = "b"
	}
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("memory limit %q: want a number and a unit (b, kb, mb, gb, tb, pb), e.g. 1-gb", orig)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("memory limit %q: %v", orig, err)
	}
	v := f * float64(mult)
	if v < 1 || v > float64(1<<62) {
		return 0, fmt.Errorf("memory limit %q: out of range", orig)
	}
	return uint64(v), nil
}

// ParseComputeLimit parses a Compute-Limit value: a decimal integer number of gas units.
func ParseComputeLimit(s string) (uint64, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || v == 0 {
		// The reference passes the tag through Number(); accept "9e12"-style values too.
		f, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if ferr != nil || f < 1 || f > 1.8e19 {
			return 0, fmt.Errorf("compute limit %q: want a positive integer", s)
		}
		return uint64(f), nil
	}
	return v, nil
}
