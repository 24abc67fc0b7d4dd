//go:build !(linux || darwin || freebsd)

package runtime

import "github.com/tetratelabs/wazero/experimental"

// newMemoryAllocator returns nil: wazero's default allocator (which copies on growth).
func newMemoryAllocator(uint64) experimental.MemoryAllocator { return nil }
