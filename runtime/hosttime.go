package runtime

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// The host runs in UTC, as the reference setup does; time itself comes from the module's own
// (deterministic) clock imports, never from the host's wall clock.

// tzset writes timezone 0, daylight 0 and the zone names, once per instance like the glue. In the
// v1/v2 glue the names are malloc'ed strings: the mallocs must happen, in the same order, or the
// heap diverges from the reference.
func (h *host) tzset(ctx context.Context, m api.Module, s []uint64) {
	if h.vars.tzsetCalled {
		return
	}
	h.vars.tzsetCalled = true
	mem := m.Memory()
	mem.WriteUint32Le(uint32(s[0]), 0)
	mem.WriteUint32Le(uint32(s[1]), 0)
	if len(s) >= 4 && h.gen >= genV3 { // (timezone, daylight, std_name, dst_name) buffers
		for _, p := range []uint32{uint32(s[2]), uint32(s[3])} {
			mem.WriteString(p, tzNameV3V4)
			mem.WriteByte(p+uint32(len(tzNameV3V4)), 0)
		}
		return
	}
	tzname := uint32(s[2])
	winter := h.inst.mallocString(ctx, tzNameV1V2)
	summer := h.inst.mallocString(ctx, tzNameV1V2)
	mem.WriteUint32Le(tzname, summer)
	mem.WriteUint32Le(tzname+4, winter)
}

// timeArg reads the time_t argument: a pointer to a 32-bit value (v1/v2 glue) or an i32 pair /
// i64 value (v3+). It returns the time and the index of the tm pointer.
func timeArg(m api.Module, s []uint64, imp importFn) (int64, int) {
	switch len(imp.params) {
	case 3:
		return int64(uint32(s[0])) | int64(int32(s[1]))<<32, 2
	default:
		if imp.params[0] == api.ValueTypeI64 {
			return int64(s[0]), 1
		}
		v, _ := m.Memory().ReadUint32Le(uint32(s[0]))
		return int64(int32(v)), 1
	}
}

func (h *host) breakTime(m api.Module, s []uint64, imp importFn, local bool) {
	secs, ti := timeArg(m, s, imp)
	tm := uint32(s[ti])
	writeTm(m.Memory(), tm, time.Unix(secs, 0).UTC())
	if local { // localtime also sets tm_isdst and tm_gmtoff (UTC: both 0)
		m.Memory().WriteUint32Le(tm+32, 0)
		m.Memory().WriteUint32Le(tm+36, 0)
	}
}

func writeTm(mem api.Memory, tm uint32, t time.Time) {
	vals := []int{t.Second(), t.Minute(), t.Hour(), t.Day(), int(t.Month()) - 1, t.Year() - 1900,
		int(t.Weekday()), t.YearDay() - 1}
	for i, v := range vals {
		mem.WriteUint32Le(tm+uint32(4*i), uint32(int32(v)))
	}
}

func readTm(mem api.Memory, tm uint32) [10]int32 {
	var v [10]int32
	for i := range v {
		u, _ := mem.ReadUint32Le(tm + uint32(4*i))
		v[i] = int32(u)
	}
	return v
}

func (h *host) mktime(m api.Module, s []uint64, imp importFn) {
	mem := m.Memory()
	tm := uint32(s[0])
	v := readTm(mem, tm)
	t := time.Date(int(v[5])+1900, time.Month(v[4]+1), int(v[3]), int(v[2]), int(v[1]), int(v[0]), 0, time.UTC)
	if v[8] < 0 {
		mem.WriteUint32Le(tm+32, 0)
	}
	writeTm(mem, tm, t)
	secs := t.Unix()
	if imp.results[0] == api.ValueTypeI64 {
		s[0] = uint64(secs)
		return
	}
	if h.gen >= genV4 { // the high half goes through the module's own tempRet0
		if f := h.inst.export("_emscripten_tempret_set"); f != nil {
			_, _ = f.Call(context.Background(), uint64(uint32(secs>>32)))
		}
		s[0] = uint64(uint32(secs))
		return
	}
	s[0] = uint64(uint32(int32(secs))) // the v1/v2 glue returns date.getTime()/1e3|0
}

var (
	weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	months   = []string{"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December"}
)

// strftime implements the specifiers of the reference glue's _strftime for a UTC struct tm, and
// returns the number of bytes written without the NUL, or 0 if the result does not fit.
func strftime(mem api.Memory, dst, maxsize, format, tm uint32) uint32 {
	f := readCString(mem, format, 4096)
	v := readTm(mem, tm)
	sec, min, hour, mday, mon, year, wday, yday := int(v[0]), int(v[1]), int(v[2]), int(v[3]), int(v[4]), int(v[5])+1900, int(v[6]), int(v[7])
	for _, r := range [][2]string{{"%c", "%a %b %d %H:%M:%S %Y"}, {"%D", "%m/%d/%y"}, {"%F", "%Y-%m-%d"},
		{"%h", "%b"}, {"%r", "%I:%M:%S %p"}, {"%R", "%H:%M"}, {"%T", "%H:%M:%S"}, {"%x", "%m/%d/%y"},
		{"%X", "%H:%M:%S"}, {"%Ec", "%c"}, {"%EC", "%C"}, {"%Ex", "%m/%d/%y"}, {"%EX", "%H:%M:%S"},
		{"%Ey", "%y"}, {"%EY", "%Y"}, {"%Od", "%d"}, {"%Oe", "%e"}, {"%OH", "%H"}, {"%OI", "%I"},
		{"%Om", "%m"}, {"%OM", "%M"}, {"%OS", "%S"}, {"%Ou", "%u"}, {"%OU", "%U"}, {"%OV", "%V"},
		{"%Ow", "%w"}, {"%OW", "%W"}, {"%Oy", "%y"}} {
		f = strings.ReplaceAll(f, r[0], r[1])
	}
	f = strings.ReplaceAll(f, "%c", "%a %b %d %H:%M:%S %Y")
	name := func(list []string, i int) string {
		if i < 0 || i >= len(list) {
			return "?"
		}
		return list[i]
	}
	hour12 := hour % 12
	if hour12 == 0 {
		hour12 = 12
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'a':
			b.WriteString(name(weekdays, wday)[:3])
		case 'A':
			b.WriteString(name(weekdays, wday))
		case 'b':
			b.WriteString(name(months, mon)[:3])
		case 'B':
			b.WriteString(name(months, mon))
		case 'C':
			fmt.Fprintf(&b, "%02d", year/100)
		case 'd':
			fmt.Fprintf(&b, "%02d", mday)
		case 'e':
			fmt.Fprintf(&b, "%2d", mday)
		case 'g', 'G', 'V':
			y, w := time.Date(year, time.Month(mon+1), mday, 0, 0, 0, 0, time.UTC).ISOWeek()
			switch f[i] {
			case 'g':
				fmt.Fprintf(&b, "%02d", y%100)
			case 'G':
				fmt.Fprintf(&b, "%d", y)
			default:
				fmt.Fprintf(&b, "%02d", w)
			}
		case 'H':
			fmt.Fprintf(&b, "%02d", hour)
		case 'I':
			fmt.Fprintf(&b, "%02d", hour12)
		case 'j':
			fmt.Fprintf(&b, "%03d", yday+1)
		case 'm':
			fmt.Fprintf(&b, "%02d", mon+1)
		case 'M':
			fmt.Fprintf(&b, "%02d", min)
		case 'n':
			b.WriteByte('\n')
		case 'p':
			if hour < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'S':
			fmt.Fprintf(&b, "%02d", sec)
		case 't':
			b.WriteByte('\t')
		case 'u':
			d := wday
			if d == 0 {
				d = 7
			}
			fmt.Fprintf(&b, "%d", d)
		case 'U':
			fmt.Fprintf(&b, "%02d", (yday+7-wday)/7)
		case 'w':
			fmt.Fprintf(&b, "%d", wday)
		case 'W':
			fmt.Fprintf(&b, "%02d", (yday+7-(wday+6)%7)/7)
		case 'y':
			fmt.Fprintf(&b, "%02d", year%100)
		case 'Y':
			fmt.Fprintf(&b, "%d", year)
		case 'z':
			b.WriteString("+0000")
		case 'Z': // the glue prints tm_zone (musl points it at the tzset names)
			if zp, ok := mem.ReadUint32Le(tm + 40); ok && zp != 0 {
				b.WriteString(readCString(mem, zp, 256))
			}
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	out := b.String()
	if uint32(len(out))+1 > maxsize {
		return 0
	}
	mem.WriteString(dst, out)
	mem.WriteByte(dst+uint32(len(out)), 0)
	return uint32(len(out))
}

// readCString reads a NUL-terminated string of at most limit bytes.
func readCString(mem api.Memory, ptr uint32, limit uint32) string {
	buf, ok := mem.Read(ptr, min(limit, mem.Size()-min(ptr, mem.Size())))
	if !ok {
		return ""
	}
	for i, c := range buf {
		if c == 0 {
			return string(buf[:i])
		}
	}
	return string(buf)
}
