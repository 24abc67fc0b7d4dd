package actors

import (
	goruntime "runtime"
	"time"

	"golang.org/x/sys/unix"
)

// onThreadCPU runs f on one locked OS thread and returns the CPU time that thread spent in it (the
// module's own cost of a message, apart from the rest of the node and from time spent waiting for a
// core on a busy machine). Two clock reads per call, each well under a microsecond.
func onThreadCPU(f func()) time.Duration {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	var t0, t1 unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &t0) != nil {
		f()
		return 0
	}
	f()
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &t1) != nil {
		return 0
	}
	return time.Duration(t1.Nano() - t0.Nano())
}
