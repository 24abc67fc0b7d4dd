//go:build linux || darwin || freebsd

package runtime

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapAllocator backs each linear memory with one anonymous mapping reserved up front at the
// instance's limit (MAP_NORESERVE: address space only; pages are committed when touched). Growth
// then never moves or copies the memory, and fresh pages come zeroed from the kernel instead of
// being cleared by Go. wazero's default allocator reallocates and copies on every growth.
type mmapAllocator struct{ limit uint64 }

func newMemoryAllocator(limit uint64) experimental.MemoryAllocator { return mmapAllocator{limit} }

func (a mmapAllocator) Allocate(capacity, max uint64) experimental.LinearMemory {
	reserve := min(max, (a.limit+65535)&^65535)
	if reserve < capacity {
		reserve = capacity
	}
	buf, err := syscall.Mmap(-1, 0, int(reserve), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|mapNoReserve)
	if err != nil {
		return nil
	}
	return &mmapMemory{buf: buf}
}

type mmapMemory struct{ buf []byte }

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size]
}

func (m *mmapMemory) Free() {
	if m.buf != nil {
		_ = syscall.Munmap(m.buf)
		m.buf = nil
	}
}
