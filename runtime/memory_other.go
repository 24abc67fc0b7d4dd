//go:build !(linux || darwin || freebsd)

package runtime

import "github.com/tetratelabs/wazero/experimental"

// memoryPool is not kept where wazero's default allocator is used.
type memoryPool struct{}

func newMemoryPool(uint64) *memoryPool { return nil }

func (*memoryPool) close() {}

func (*memoryPool) startClosing() {}

// newMemoryAllocator returns nil: wazero's default allocator (which copies on growth).
func newMemoryAllocator(uint64, *memoryPool) experimental.MemoryAllocator { return nil }
