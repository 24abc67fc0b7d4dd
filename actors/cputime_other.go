//go:build !linux

package actors

import "time"

// onThreadCPU runs f; per-thread CPU time is read on Linux only (0 here).
func onThreadCPU(f func()) time.Duration {
	f()
	return 0
}
