//go:build linux || darwin || freebsd

package runtime

import (
	"sync"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapAllocator backs each linear memory with one anonymous mapping reserved up front at the
// instance's limit (MAP_NORESERVE: address space only; pages are committed when touched). Growth
// then never moves or copies the memory, and fresh pages come zeroed from the kernel instead of
// being cleared by Go. wazero's default allocator reallocates and copies on every growth.
//
// A closed instance's mapping is cleared and kept in the engine's memoryPool for the next
// instance with the same reservation: the first touch of a fresh page is a page fault, measured at
// 15-30 µs per 4 KiB page on the 2-core VMs this runs on (20-50 ms for the 6 MiB of an aos
// process, most of an activation), against about 0.3 ms to clear the same pages for reuse.
type mmapAllocator struct {
	limit uint64
	pool  *memoryPool
}

func newMemoryAllocator(limit uint64, pool *memoryPool) experimental.MemoryAllocator {
	return mmapAllocator{limit, pool}
}

func (a mmapAllocator) Allocate(capacity, max uint64) experimental.LinearMemory {
	reserve := min(max, (a.limit+65535)&^65535)
	if reserve < capacity {
		reserve = capacity
	}
	if m := a.pool.take(reserve); m != nil {
		return m
	}
	buf, err := syscall.Mmap(-1, 0, int(reserve), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|mapNoReserve)
	if err != nil {
		return nil
	}
	return &mmapMemory{buf: buf, pool: a.pool}
}

type mmapMemory struct {
	buf  []byte
	used uint64 // the largest size handed to wazero: the bytes that may be non-zero
	pool *memoryPool
}

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	m.used = max(m.used, size)
	return m.buf[:size]
}

func (m *mmapMemory) Free() {
	if m.buf == nil {
		return
	}
	if m.pool.put(m) {
		return
	}
	_ = syscall.Munmap(m.buf)
	m.buf = nil
}

// memoryPool keeps cleared linear memories of closed instances, up to maxBytes of touched pages.
type memoryPool struct {
	maxBytes uint64
	mu       sync.Mutex
	closing  bool // the engine is closing: unmap rather than clear
	bytes    uint64
	free     map[uint64][]*mmapMemory // by reservation
}

func newMemoryPool(maxBytes uint64) *memoryPool {
	return &memoryPool{maxBytes: maxBytes, free: map[uint64][]*mmapMemory{}}
}

func (p *memoryPool) take(reserve uint64) *mmapMemory {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fs := p.free[reserve]
	if len(fs) == 0 {
		return nil
	}
	m := fs[len(fs)-1]
	p.free[reserve] = fs[:len(fs)-1]
	p.bytes -= m.used
	m.used = 0
	return m
}

// put clears m and keeps it, unless the pool is full.
func (p *memoryPool) put(m *mmapMemory) bool {
	if p == nil || m.used > p.maxBytes {
		return false
	}
	p.mu.Lock()
	full := p.closing || p.bytes+m.used > p.maxBytes
	if !full {
		p.bytes += m.used // reserved before clearing, outside the lock
	}
	p.mu.Unlock()
	if full {
		return false
	}
	clearResident(m.buf[:m.used])
	p.mu.Lock()
	reserve := uint64(len(m.buf))
	p.free[reserve] = append(p.free[reserve], m)
	p.mu.Unlock()
	return true
}

// startClosing makes put refuse memories: an engine closing its instances unmaps them.
func (p *memoryPool) startClosing() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
}

// close unmaps every pooled memory.
func (p *memoryPool) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for r, fs := range p.free {
		for _, m := range fs {
			_ = syscall.Munmap(m.buf)
			m.buf = nil
		}
		delete(p.free, r)
	}
	p.bytes = 0
}
