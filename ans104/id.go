package ans104

import (
	"encoding/base64"
	"fmt"
)

// ID is a 32-byte identifier: a data item id (SHA-256 of its signature), a process or module id, a
// wallet address or a hash-chain link. Its text form is base64url without padding (43 characters).
type ID [32]byte

// IDLen is the length of an ID in its text form.
const IDLen = 43

var b64 = base64.RawURLEncoding

// String returns the base64url (unpadded) form used everywhere in AO.
func (id ID) String() string { return b64.EncodeToString(id[:]) }

// IsZero reports whether id is all zero bytes (the "no id" value).
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID decodes a 43-character base64url id.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != IDLen {
		return id, fmt.Errorf("ans104: id %q must be %d base64url characters, not %d", clip(s), IDLen, len(s))
	}
	// Strict: 43 characters carry 258 bits, and the last 2 must be zero. Without it four spellings
	// decode to the same id, and a non-canonical one would be read silently as another's.
	n, err := b64.Strict().Decode(id[:], []byte(s))
	if err != nil || n != 32 {
		return id, fmt.Errorf("ans104: id %q is not canonical base64url", clip(s))
	}
	return id, nil
}

// EncodeB64 and DecodeB64 are the base64url (unpadded) codec used for owners, signatures and keys.
func EncodeB64(b []byte) string { return b64.EncodeToString(b) }

// DecodeB64 decodes base64url, tolerating padding (some tools emit it).
func DecodeB64(s string) ([]byte, error) {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return b64.DecodeString(s)
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}
