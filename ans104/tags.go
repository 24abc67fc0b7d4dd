package ans104

import (
	"fmt"
	"unicode/utf8"
)

// Tag is one ANS-104 tag. Names are case-sensitive; order is significant (it is signed).
type Tag struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Tags is an ordered tag list with the lookups AO needs.
type Tags []Tag

// Get returns the value of the first tag named name.
func (ts Tags) Get(name string) (string, bool) {
	for _, t := range ts {
		if t.Name == name {
			return t.Value, true
		}
	}
	return "", false
}

// Value returns the value of the first tag named name, or "".
func (ts Tags) Value(name string) string {
	v, _ := ts.Get(name)
	return v
}

// All returns the values of every tag named name, in order.
func (ts Tags) All(name string) []string {
	var out []string
	for _, t := range ts {
		if t.Name == name {
			out = append(out, t.Value)
		}
	}
	return out
}

// EncodeTags serialises tags as ANS-104 does: an Avro array of {name: string, value: string}
// records written as one block (zigzag count, items, 0 terminator). An empty list is zero bytes,
// as arbundles writes it.
func EncodeTags(tags []Tag) []byte {
	if len(tags) == 0 {
		return nil
	}
	n := 20
	for _, t := range tags {
		n += len(t.Name) + len(t.Value) + 20
	}
	b := make([]byte, 0, n)
	b = appendLong(b, int64(len(tags)))
	for _, t := range tags {
		b = appendLong(b, int64(len(t.Name)))
		b = append(b, t.Name...)
		b = appendLong(b, int64(len(t.Value)))
		b = append(b, t.Value...)
	}
	return append(b, 0)
}

func appendLong(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

// decodeTags parses the Avro tag block. want is the tag count the item header declares; lim bounds
// every length before anything is allocated, so hostile input cannot make it allocate more than the
// input's own size.
func decodeTags(b []byte, want uint64, lim Limits) ([]Tag, error) {
	if len(b) == 0 {
		if want != 0 {
			return nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("header declares %d tags but the tag bytes are empty", want)}
		}
		return nil, nil
	}
	// Every tag takes at least two bytes (two zero-length strings), which bounds the allocation.
	if want > uint64(len(b))/2 {
		return nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("header declares %d tags in %d tag bytes", want, len(b))}
	}
	tags := make([]Tag, 0, want)
	r := avroReader{b: b}
	for {
		count, err := r.long()
		if err != nil {
			return nil, err
		}
		if count == 0 {
			break
		}
		if count < 0 { // a negative count is followed by the block's byte size, which we do not need
			count = -count
			if _, err := r.long(); err != nil {
				return nil, err
			}
		}
		if uint64(count) > want-uint64(len(tags)) || count < 0 {
			return nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("Avro data holds more tags than the %d the header declares", want)}
		}
		for i := int64(0); i < count; i++ {
			name, err := r.str("tag name", lim.MaxTagNameBytes)
			if err != nil {
				return nil, err
			}
			value, err := r.str("tag value", lim.MaxTagValueBytes)
			if err != nil {
				return nil, err
			}
			if len(name) == 0 {
				return nil, &LimitError{What: "tag name", Detail: fmt.Sprintf("tag %d has an empty name", len(tags))}
			}
			tags = append(tags, Tag{Name: string(name), Value: string(value)})
		}
	}
	if r.off != len(b) {
		return nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("%d bytes left after the Avro tag block", len(b)-r.off)}
	}
	if uint64(len(tags)) != want {
		return nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("header declares %d tags, Avro data holds %d", want, len(tags))}
	}
	return tags, nil
}

type avroReader struct {
	b   []byte
	off int
}

func (r *avroReader) long() (int64, error) {
	var u uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.off >= len(r.b) {
			return 0, &FormatError{Field: "tags", Reason: "Avro varint runs past the end of the tag bytes"}
		}
		c := r.b[r.off]
		r.off++
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), nil
		}
	}
	return 0, &FormatError{Field: "tags", Reason: "Avro varint longer than 10 bytes"}
}

func (r *avroReader) str(what string, max int) ([]byte, error) {
	n, err := r.long()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("negative %s length %d", what, n)}
	}
	if n > int64(len(r.b)-r.off) {
		return nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("%s length %d runs past the end of the tag bytes", what, n)}
	}
	if max > 0 && n > int64(max) {
		return nil, &LimitError{What: what, Detail: fmt.Sprintf("%d bytes, limit %d", n, max)}
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	if !utf8.Valid(s) {
		return nil, &FormatError{Field: "tags", Reason: fmt.Sprintf("%s is not valid UTF-8", what)}
	}
	return s, nil
}
