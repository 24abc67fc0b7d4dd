package compute

import (
	"fmt"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/runtime"
)

// LimitsFor is the instance limits a process is evaluated with: its Memory-Limit and
// Compute-Limit tags, each falling back to its module's. It lives here, beside EnvJSON, because a
// node's evaluator and a recomputation outside any node (verify) must derive them identically:
// a different limit changes which messages fail, and so the state.
func LimitsFor(proc, module *ans104.DataItem) (runtime.Limits, error) {
	var l runtime.Limits
	pick := func(name string) string {
		if v := proc.Tags.Value(name); v != "" {
			return v
		}
		return module.Tags.Value(name)
	}
	if v := pick("Memory-Limit"); v != "" {
		n, err := runtime.ParseMemoryLimit(v)
		if err != nil {
			return l, fmt.Errorf("Memory-Limit %q: %w", v, err)
		}
		l.MemoryLimit = n
	}
	if v := pick("Compute-Limit"); v != "" {
		n, err := runtime.ParseComputeLimit(v)
		if err != nil {
			return l, fmt.Errorf("Compute-Limit %q: %w", v, err)
		}
		l.ComputeLimit = n
	}
	return l, nil
}
