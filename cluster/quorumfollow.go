package cluster

import (
	"log/slog"
	"time"
)

// Follow records the members of every view of members as known (Observe), from the next view on,
// until the returned stop is called (stop returns once the loop has ended). A member enters the
// known set once heard from (SetFresh), which may be after the view that named it: the current
// view is recorded again every again (half a lease, as a node runs it). A view that cannot be
// recorded is logged and the next one tried.
func (q *Quorum) Follow(members Membership, again time.Duration, log *slog.Logger) (stop func()) {
	views, cancel := members.Subscribe()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer cancel()
		tick := time.NewTicker(again)
		defer tick.Stop()
		for {
			var v *View
			select {
			case <-quit:
				return
			case v = <-views:
			case <-tick.C:
				v = members.View()
			}
			if v == nil {
				continue
			}
			if err := q.Observe(v); err != nil {
				log.Error("cannot record the cluster's members", "err", err)
			}
		}
	}()
	return func() { close(quit); <-done }
}
