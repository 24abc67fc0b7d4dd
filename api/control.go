package api

import (
	"fmt"
	"strconv"
	"time"

	"github.com/actorweave/actorweave/ans104"
)

// Control items: a request that changes a process's state other than by a message (monitor,
// unmonitor) carries an ANS-104 item signed by the process owner. It must be made for this
// request: it targets the process, is not an AO message or process (so the owner's public items,
// readable by anyone from GET /{pid}, cannot be replayed as one), names the action
// (Action: Monitor or Unmonitor) and is recent (Timestamp, ms, within the control window). The
// backend then checks the owner and that the item was never used before.
//
// aoconnect's monitor and unmonitor cannot add tags: an item without Action and Timestamp is
// accepted unless ControlRequireTags is set; it is still single-use and owner-signed.

// controlAction is the Action tag a control item names for monitor (on) or unmonitor.
func controlAction(on bool) string {
	if on {
		return "Monitor"
	}
	return "Unmonitor"
}

// checkControlItem applies the checks that need no state: target, kind, action, freshness.
func checkControlItem(item *ans104.DataItem, pid ans104.ID, on bool, now time.Time, window time.Duration, requireTags bool) error {
	forbid := func(format string, a ...any) error {
		return &apiError{msg: "control item refused: " + fmt.Sprintf(format, a...), kind: ErrForbidden}
	}
	if len(item.Target) == 0 || item.TargetID() != pid {
		return forbid("it must target the process %s", pid)
	}
	if t := item.Tags.Value("Type"); t != "" || item.Tags.Value("Data-Protocol") != "" {
		return forbid("an AO item (Type %q) is not a control item: sign one for this request", t)
	}
	action, ts := item.Tags.Value("Action"), item.Tags.Value("Timestamp")
	if requireTags && (action == "" || ts == "") {
		return forbid("it must carry the tags Action (%s) and Timestamp (ms)", controlAction(on))
	}
	if action != "" && action != controlAction(on) {
		return forbid("it names the action %q, this request is %s", action, controlAction(on))
	}
	if ts != "" {
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return forbid("Timestamp %q is not milliseconds", ts)
		}
		if d := now.Sub(time.UnixMilli(ms)); d > window || d < -window {
			return forbid("Timestamp %d is %s from the node's clock (allowed: %s)", ms, d.Round(time.Second), window)
		}
	}
	return nil
}
