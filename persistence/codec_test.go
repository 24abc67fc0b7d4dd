package persistence

import (
	"errors"
	"reflect"
	"testing"
)

func TestCodecRoundTripAndTruncation(t *testing.T) {
	c := newChain(randID(t))
	for _, msg := range [][]byte{nil, randBytes(t, 300)} {
		e := c.next(t, msg)
		e.Timestamp = -42
		b := encodeEntry(&e)
		got, err := decodeEntry(e.Process, e.Nonce, b)
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, e)
		}
		for i := 0; i < len(b); i++ {
			if _, err := decodeEntry(e.Process, e.Nonce, b[:i]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("truncated to %d of %d bytes: %v, want ErrCorrupt", i, len(b), err)
			}
		}
		if _, err := decodeEntry(e.Process, e.Nonce, append(b, 0)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("trailing byte: %v", err)
		}
	}
	p := newProcess(t)
	b := encodeProcess(&p)
	got, err := decodeProcess(p.ID, b)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("process round trip: %v", err)
	}
	for i := 0; i < len(b); i++ {
		if _, err := decodeProcess(p.ID, b[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("process truncated to %d: %v", i, err)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	c := newChain(ID{1})
	e := c.next(f, []byte("hello"))
	f.Add(encodeEntry(&e))
	f.Add([]byte{entryV1, entryHasMessage, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(ID{}, 0, b) // must not panic, whatever the bytes
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode error %v is not ErrCorrupt", err)
			}
			return
		}
		// Whatever decodes survives a round trip (the encoding itself may be non-canonical).
		again, err := decodeEntry(ID{}, 0, encodeEntry(&e))
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Message) == 0 {
			e.Message = nil
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("round trip differs:\n%+v\n%+v", again, e)
		}
	})
}
