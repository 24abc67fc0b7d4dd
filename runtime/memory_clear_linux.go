package runtime

import (
	"syscall"
	"unsafe"
)

// clearResident zeroes b (page-aligned, from mmap): the resident pages (mincore(2)) with stores,
// which keeps them mapped for the next instance, and the others with madvise(MADV_DONTNEED), which
// makes them zero-fill on demand without touching them: writing zeros to a page never touched would
// fault it in (15-30 µs each on the VMs measured), and a page swapped out is not resident but not
// zero either.
func clearResident(b []byte) {
	const page = 4096
	if len(b) == 0 {
		return
	}
	pages := (len(b) + page - 1) / page
	vec := make([]byte, pages)
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		clear(b)
		return
	}
	for i := 0; i < pages; {
		resident := vec[i]&1 != 0
		j := i
		for j < pages && (vec[j]&1 != 0) == resident {
			j++
		}
		run := b[i*page : min(j*page, len(b))]
		if resident {
			clear(run)
		} else if err := syscall.Madvise(run, syscall.MADV_DONTNEED); err != nil {
			clear(run)
		}
		i = j
	}
}
