package actors

import (
	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/runtime"
)

// LimitsFor is the instance limits the evaluator gives a process (its Memory-Limit and
// Compute-Limit tags over its module's), for recomputation outside a node (actorweave verify),
// which must evaluate exactly as the node does.
func LimitsFor(proc, module *ans104.DataItem) (runtime.Limits, error) { return limitsFor(proc, module) }
