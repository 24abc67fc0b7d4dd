//go:build darwin || freebsd

package runtime

// clearResident zeroes b (see memory_clear_linux.go, which skips pages never touched).
func clearResident(b []byte) { clear(b) }
