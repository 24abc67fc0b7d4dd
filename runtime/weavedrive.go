package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// WeaveDrive: the module's __asyncjs__weavedrive_open/read/close imports (aos builds declare them
// in their libc wrapper and route Lua's io.open and fread to them), answered synchronously through
// a Drive the caller injects per instance (Instance.SetDrive). The runtime knows neither storage
// nor network: it parses the path as the reference drive does, keeps the descriptor table, copies
// bytes into linear memory, and turns refusals into the message's Error. Which reference it
// follows, and where it differs, is in docs/wasm-abi.md §3.1.

// DrivePath is what a WeaveDrive path names: Kind "data" (an item's data, /data/<id>), "tx" (a
// transaction's header JSON, /tx/<id>) or "block" (a block's header JSON, /block/<height>).
type DrivePath struct {
	Kind string
	ID   string // a 43-character base64url id, or a decimal height for "block"
}

func (p DrivePath) String() string { return "/" + p.Kind + "/" + p.ID }

// Drive answers one process's WeaveDrive reads. Open is called for the message whose
// Block-Height is height; it must return within the context's deadline.
type Drive interface {
	Open(ctx context.Context, p DrivePath, height uint64) (DriveFile, error)
}

// DriveFile is an open WeaveDrive file.
type DriveFile interface {
	Size() int64
	// ReadAt reads len(p) bytes at off (fewer only at the end of the file).
	ReadAt(ctx context.Context, p []byte, off int64) (int, error)
	Close() error
}

// ErrDriveNotFound is a Drive's answer for an item that does not exist: the reference drive
// answers "HALT: FILE NOT FOUND" (the wasm64 glue throws it, the emscripten4 glue turns it into
// 0, which C's fopen sees as "no file").
var ErrDriveNotFound = errors.New("weavedrive: not found")

// ErrDriveUnavailable marks a Drive failure that says nothing about the process: the gateway
// unreachable or too slow, the node's cache unable to hold the item. A message whose read fails
// so has no result (Result.Unavailable): its Error would differ on a node, or at a time, where the
// read succeeds, and a replay must give every message the answer it had. The caller evaluates it
// again later.
var ErrDriveUnavailable = errors.New("weavedrive: unavailable")

// DriveNotFound is the Error text of a missing item under the wasm64 glue (the reference's).
const DriveNotFound = "HALT: FILE NOT FOUND"

// Limits of what the module hands the host.
const (
	maxDrivePath = 1024 // bytes of a path read from memory
	firstDriveFD = 3    // emscripten's FS gives the lowest free descriptor above stdio
	maxDriveFDs  = 1024 // open at once, per message
)

// driveError is a WeaveDrive failure that makes the message an Error with this text, or, when
// unavailable, leaves the message without a result (ErrDriveUnavailable).
type driveError struct {
	msg         string
	unavailable bool
}

func (e *driveError) Error() string { return e.msg }

func driveFail(format string, args ...any) { panic(&driveError{msg: fmt.Sprintf(format, args...)}) }

// driveFailed ends the message after the Drive's err: unavailable when the drive says so or the
// read ran out of time (ctx is the message's), an Error otherwise.
func driveFailed(ctx context.Context, err error, format string, args ...any) {
	unavailable := errors.Is(err, ErrDriveUnavailable) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil
	panic(&driveError{msg: fmt.Sprintf(format, args...), unavailable: unavailable})
}

// ParseDrivePath parses a path the module opened, as the reference drive does (the category is
// the first segment, the id the second), and refuses what could name anything else: ok is false
// for a category the reference does not serve (its open answers 0); err is set for a path with
// '..', empty or extra segments, a NUL, or an id of the wrong shape.
func ParseDrivePath(path string) (p DrivePath, ok bool, err error) {
	if len(path) > maxDrivePath {
		return p, false, fmt.Errorf("weavedrive: path of %d bytes (at most %d)", len(path), maxDrivePath)
	}
	if strings.ContainsRune(path, 0) || strings.Contains(path, "\\") {
		return p, false, fmt.Errorf("weavedrive: bad path %q", path)
	}
	segs := strings.Split(path, "/")
	for _, s := range segs {
		if s == ".." || s == "." {
			return p, false, fmt.Errorf("weavedrive: path traversal in %q", path)
		}
	}
	if len(segs) < 2 || segs[0] != "" {
		return p, false, nil // not absolute: the reference's category is then not one it serves
	}
	switch segs[1] {
	case "data", "tx", "block":
	default:
		return p, false, nil
	}
	if len(segs) != 3 {
		return p, false, fmt.Errorf("weavedrive: bad path %q: want /%s/<id>", path, segs[1])
	}
	p = DrivePath{Kind: segs[1], ID: segs[2]}
	if p.Kind == "block" {
		if len(p.ID) == 0 || len(p.ID) > 19 || strings.Trim(p.ID, "0123456789") != "" {
			return p, false, fmt.Errorf("weavedrive: bad block height %q", p.ID)
		}
		return p, true, nil
	}
	if !IsDriveID(p.ID) {
		return p, false, fmt.Errorf("weavedrive: bad id %q: want 43 base64url characters", p.ID)
	}
	return p, true, nil
}

// IsDriveID reports whether s has the shape of an Arweave id: 43 base64url characters.
func IsDriveID(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// driveFD is one open descriptor.
type driveFD struct {
	f    DriveFile
	p    DrivePath
	pos  int64
	size int64
	// endQuirk: the reference's /data seek to the end leaves the stream's position a string
	// ("0" + size), and its next reads fetch from the start of the item (the gateway ignores the
	// malformed range): aos's `file:read(file:seek("end"))` relies on it. Set by SEEK_END, kept
	// by SEEK_CUR, cleared by SEEK_SET; while set, reads go on from qpos.
	endQuirk bool
	qpos     int64
}

// driveState is the per-message WeaveDrive state of an instance.
type driveState struct {
	drive  Drive
	budget int64 // bytes a message may read; 0: no bound
	read   int64 // read in this message
	fds    map[int32]*driveFD
	msg    []byte // the message being evaluated (for its Block-Height)
}

// SetDrive gives the instance its WeaveDrive (nil: none, open answers 0 as without the
// extension) and the bytes one message may read through it (0: no bound).
func (in *Instance) SetDrive(d Drive, readBudget int64) {
	in.host.wd.drive, in.host.wd.budget = d, readBudget
}

// beginMessage and endMessage bracket one evaluation: descriptors live for one message (the
// reference keeps them for the life of its instance, which a restart or error ends: a module
// that kept one open across messages would read differently after a restart).
func (w *driveState) beginMessage(msg []byte) {
	w.msg, w.read = msg, 0
}

func (w *driveState) endMessage() {
	for fd, f := range w.fds {
		_ = f.f.Close()
		delete(w.fds, fd)
	}
	w.msg = nil
}

// blockHeight is the message's Block-Height (the reference drive's mod.blockHeight).
func (w *driveState) blockHeight() uint64 {
	var m struct {
		H json.RawMessage `json:"Block-Height"`
	}
	if json.Unmarshal(w.msg, &m) != nil || len(m.H) == 0 {
		return 0
	}
	s := strings.Trim(string(m.H), `"`)
	h, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f >= 0 {
			return uint64(f)
		}
		return 0
	}
	return h
}

// driveOpen is __asyncjs__weavedrive_open(path, mode) -> fd (0: no file).
func (h *host) driveOpen(ctx context.Context, m api.Module, s []uint64) {
	w := &h.wd
	ptr := h.ptrArg(s[0])
	if w.drive == nil {
		s[0] = 0 // the glue without Module.WeaveDrive answers null
		return
	}
	path := readCString(m.Memory(), ptr, maxDrivePath+1)
	p, ok, err := ParseDrivePath(path)
	if err != nil {
		driveFail("%v", err)
	}
	if !ok {
		s[0] = 0
		return
	}
	if len(w.fds) >= maxDriveFDs {
		driveFail("weavedrive: %d files open (at most %d)", len(w.fds), maxDriveFDs)
	}
	f, err := w.drive.Open(ctx, p, w.blockHeight())
	switch {
	case errors.Is(err, ErrDriveNotFound):
		if h.inst.mod.wasm64 {
			driveFail("%s: %s", DriveNotFound, p)
		}
		s[0] = 0
		return
	case err != nil:
		driveFailed(ctx, err, "%v", err)
	}
	if w.fds == nil {
		w.fds = map[int32]*driveFD{}
	}
	fd := int32(firstDriveFD)
	for w.fds[fd] != nil {
		fd++
	}
	w.fds[fd] = &driveFD{f: f, p: p, size: f.Size()}
	s[0] = uint64(uint32(fd))
}

// driveRead is __asyncjs__weavedrive_read(fd, dst, length) -> bytes read.
func (h *host) driveRead(ctx context.Context, m api.Module, s []uint64) {
	w := &h.wd
	fd := int32(uint32(s[0]))
	dst := h.ptrArg(s[1])
	length := s[2]
	if !h.inst.mod.wasm64 {
		length = uint64(uint32(length))
	}
	d := w.fds[fd]
	if d == nil {
		driveFail("weavedrive: read of descriptor %d, which is not open", fd)
	}
	mem := m.Memory()
	if uint64(dst)+length > uint64(mem.Size()) {
		driveFail("weavedrive: read of %d bytes at %d is outside the module's memory (%d bytes)", length, dst, mem.Size())
	}
	if d.p.Kind != "data" {
		// The reference copies the header from its start whatever the position, and answers the
		// length asked for.
		n := min(length, uint64(d.size))
		h.driveCopy(ctx, d, mem, dst, n, 0)
		s[0] = uint64(uint32(length))
		return
	}
	pos := d.pos
	if d.endQuirk {
		pos = d.qpos
	}
	if pos >= d.size || length == 0 {
		s[0] = 0
		return
	}
	n := min(length, uint64(d.size-pos))
	if n > 1<<31-1 {
		n = 1<<31 - 1 // the import answers an i32
	}
	h.driveCopy(ctx, d, mem, dst, n, pos)
	if d.endQuirk {
		d.qpos += int64(n)
	} else {
		d.pos += int64(n)
	}
	s[0] = n
}

// driveCopy reads n bytes of d at off straight into memory at dst, charging the budget.
func (h *host) driveCopy(ctx context.Context, d *driveFD, mem api.Memory, dst uint32, n uint64, off int64) {
	w := &h.wd
	if n == 0 {
		return
	}
	if w.budget > 0 && w.read+int64(n) > w.budget {
		driveFail("weavedrive: read budget exhausted: %d bytes per message (reading %d more of %s after %d)", w.budget, n, d.p, w.read)
	}
	buf, ok := mem.Read(dst, uint32(n))
	if !ok {
		driveFail("weavedrive: read of %d bytes at %d is outside the module's memory", n, dst)
	}
	got, err := d.f.ReadAt(ctx, buf, off)
	if err != nil {
		driveFailed(ctx, err, "weavedrive: reading %s: %v", d.p, err)
	}
	if uint64(got) != n {
		driveFail("weavedrive: reading %s: %d of %d bytes at %d", d.p, got, n, off)
	}
	w.read += int64(n)
}

// driveClose is __asyncjs__weavedrive_close(fd).
func (h *host) driveClose(_ context.Context, _ api.Module, s []uint64) {
	w := &h.wd
	fd := int32(uint32(s[0]))
	d := w.fds[fd]
	if d == nil {
		driveFail("weavedrive: close of descriptor %d, which is not open", fd)
	}
	_ = d.f.Close()
	delete(w.fds, fd)
	s[0] = 0
}

// driveSeek is fd_seek on a WeaveDrive descriptor: the new position, or an errno.
func (w *driveState) seek(fd int32, off int64, whence uint32) (int64, uint64, bool) {
	d := w.fds[fd]
	if d == nil {
		return 0, 0, false
	}
	var pos int64
	switch whence {
	case 0:
		pos, d.endQuirk = off, false
	case 1:
		pos = d.pos + off
	case 2:
		pos = d.size + off
		if d.p.Kind == "data" && !d.endQuirk {
			d.endQuirk, d.qpos = true, 0
		}
	default:
		return 0, errnoINVAL, true
	}
	if pos < 0 {
		return 0, errnoINVAL, true
	}
	d.pos = pos
	return pos, 0, true
}

// ptrArg narrows a pointer argument (64-bit ones trap at or above 4 GiB).
func (h *host) ptrArg(v uint64) uint32 {
	if h.inst.mod.wasm64 {
		return ptr64(v)
	}
	return uint32(v)
}

// fdSeek is fd_seek: WeaveDrive descriptors seek; stdio is a pipe; anything else is not open.
// The 32-bit glue passes the offset as two i32 halves (fd, lo, hi, whence, newOffset), the
// wasm64 one as an i64 (fd, offset, whence, newOffset); the new offset is written as 64 bits.
func (h *host) fdSeek(m api.Module, s []uint64, nparams int) uint64 {
	fd := int32(uint32(s[0]))
	var off int64
	var whence uint32
	var out uint32
	if nparams == 5 {
		off = int64(uint64(uint32(s[1])) | uint64(uint32(s[2]))<<32)
		whence, out = uint32(s[3]), h.ptrArg(s[4])
	} else {
		off, whence, out = int64(s[1]), uint32(s[2]), h.ptrArg(s[3])
	}
	if pos, errno, ok := h.wd.seek(fd, off, whence); ok {
		if errno != 0 {
			return errno
		}
		m.Memory().WriteUint64Le(out, uint64(pos))
		return 0
	}
	if fd >= 0 && fd <= 2 {
		return errnoSPIPE
	}
	return errnoBADF
}
