package ans104

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// SignatureType is the u16 at the start of every data item.
type SignatureType uint16

// The signature types of ANS-104. Only Arweave, ED25519 and Ethereum can be verified here; the
// others are known so that their layout parses and their error says what they are.
const (
	SigArweave       SignatureType = 1
	SigED25519       SignatureType = 2
	SigEthereum      SignatureType = 3
	SigSolana        SignatureType = 4
	SigInjectedAptos SignatureType = 5
	SigMultiAptos    SignatureType = 6
	SigTypedEthereum SignatureType = 7
)

type sigLayout struct {
	name           string
	sigLen, ownLen int
}

var sigLayouts = map[SignatureType]sigLayout{
	SigArweave:       {"arweave", 512, 512},
	SigED25519:       {"ed25519", 64, 32},
	SigEthereum:      {"ethereum", 65, 65},
	SigSolana:        {"solana", 64, 32},
	SigInjectedAptos: {"injectedAptos", 64, 32},
	SigMultiAptos:    {"multiAptos", 64*32 + 4, 32*32 + 1},
	SigTypedEthereum: {"typedEthereum", 65, 42},
}

func (t SignatureType) String() string {
	if l, ok := sigLayouts[t]; ok {
		return l.name
	}
	return "unknown"
}

// SignatureLen and OwnerLen give the fixed field sizes of a known type (0 for unknown types).
func (t SignatureType) SignatureLen() int { return sigLayouts[t].sigLen }

// OwnerLen is the owner (public key) length of the type.
func (t SignatureType) OwnerLen() int { return sigLayouts[t].ownLen }

// Limits bound what Parse accepts. Every field has a default (DefaultLimits) and the node exposes
// each as a flag.
type Limits struct {
	MaxItemBytes     int // whole serialised item; reference units take 10 MiB bodies
	MaxTags          int // ANS-104 allows 128
	MaxTagNameBytes  int // ANS-104 allows 1024
	MaxTagValueBytes int // ANS-104 allows 3072
	MaxTagsBytes     int // all tags, Avro-encoded; arbundles refuses items over 4096
}

// DefaultLimits are the ANS-104 limits and the reference units' 10 MiB body size.
func DefaultLimits() Limits {
	return Limits{MaxItemBytes: 10 << 20, MaxTags: 128, MaxTagNameBytes: 1024, MaxTagValueBytes: 3072, MaxTagsBytes: 4096}
}

// DataItem is one ANS-104 data item. Target and Anchor are nil when absent, else 32 bytes.
//
// Items returned by Parse share memory with the input: the caller must not modify the input
// afterwards. Changing a field of a parsed item invalidates its signature until it is re-signed.
type DataItem struct {
	SignatureType SignatureType
	Signature     []byte
	Owner         []byte
	Target        []byte
	Anchor        []byte
	Tags          Tags
	Data          []byte

	raw     []byte // the exact bytes parsed or last serialised; nil after a field changes via Sign
	tagsRaw []byte // the Avro bytes exactly as signed
}

// ID is SHA-256 of the signature.
func (d *DataItem) ID() ID { return sha256.Sum256(d.Signature) }

// TargetID returns the target as an ID (zero if absent).
func (d *DataItem) TargetID() ID {
	var id ID
	copy(id[:], d.Target)
	return id
}

// OwnerAddress is the owner's wallet address as AO renders it (see Address).
func (d *DataItem) OwnerAddress() string { return Address(d.SignatureType, d.Owner) }

// Parse decodes one data item from b, checking every length against what remains and against
// lim before anything is allocated. It does not verify the signature (see Verify); the node
// always calls both, through ParseAndVerify.
func Parse(b []byte, lim Limits) (*DataItem, error) {
	if lim.MaxItemBytes > 0 && len(b) > lim.MaxItemBytes {
		return nil, &LimitError{What: "data item size", Detail: fmt.Sprintf("%d bytes, limit %d", len(b), lim.MaxItemBytes)}
	}
	r := reader{b: b}
	st, err := r.u16("signature type")
	if err != nil {
		return nil, err
	}
	d := &DataItem{SignatureType: SignatureType(st)}
	layout, ok := sigLayouts[d.SignatureType]
	if !ok {
		return nil, &UnknownSignatureTypeError{Type: d.SignatureType, Op: "parse"}
	}
	if d.Signature, err = r.take("signature", layout.sigLen); err != nil {
		return nil, err
	}
	if d.Owner, err = r.take("owner", layout.ownLen); err != nil {
		return nil, err
	}
	if d.Target, err = r.optional32("target"); err != nil {
		return nil, err
	}
	if d.Anchor, err = r.optional32("anchor"); err != nil {
		return nil, err
	}
	nTags, err := r.u64("tag count")
	if err != nil {
		return nil, err
	}
	if lim.MaxTags > 0 && nTags > uint64(lim.MaxTags) {
		return nil, &LimitError{What: "tag count", Detail: fmt.Sprintf("%d tags, limit %d", nTags, lim.MaxTags)}
	}
	nTagBytes, err := r.u64("tag bytes length")
	if err != nil {
		return nil, err
	}
	if lim.MaxTagsBytes > 0 && nTagBytes > uint64(lim.MaxTagsBytes) {
		return nil, &LimitError{What: "tag bytes", Detail: fmt.Sprintf("%d bytes of tags, limit %d", nTagBytes, lim.MaxTagsBytes)}
	}
	if nTagBytes > uint64(len(b)-r.off) {
		return nil, &TruncatedError{Field: "tags", Need: clampInt(nTagBytes), Have: len(b) - r.off}
	}
	d.tagsRaw, _ = r.take("tags", int(nTagBytes))
	if d.Tags, err = decodeTags(d.tagsRaw, nTags, lim); err != nil {
		return nil, err
	}
	d.Data = b[r.off:]
	d.raw = b
	return d, nil
}

// ParseAndVerify is Parse followed by Verify: the only way external input should enter the node.
func ParseAndVerify(b []byte, lim Limits) (*DataItem, error) {
	d, err := Parse(b, lim)
	if err != nil {
		return nil, err
	}
	if err := d.Verify(); err != nil {
		return nil, err
	}
	return d, nil
}

// Bytes returns the serialised item. For a parsed or signed item it is the exact byte string
// whose signature verified; do not modify it.
func (d *DataItem) Bytes() []byte {
	if d.raw != nil {
		return d.raw
	}
	return d.serialise()
}

// Size is the length of Bytes().
func (d *DataItem) Size() int { return len(d.Bytes()) }

func (d *DataItem) tagBytes() []byte {
	if d.tagsRaw == nil && len(d.Tags) > 0 {
		d.tagsRaw = EncodeTags(d.Tags)
	}
	return d.tagsRaw
}

func (d *DataItem) serialise() []byte {
	tags := d.tagBytes()
	n := 2 + len(d.Signature) + len(d.Owner) + 2 + len(d.Target) + len(d.Anchor) + 16 + len(tags) + len(d.Data)
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint16(b, uint16(d.SignatureType))
	b = append(b, d.Signature...)
	b = append(b, d.Owner...)
	b = appendOptional(b, d.Target)
	b = appendOptional(b, d.Anchor)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(d.Tags)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(tags)))
	b = append(b, tags...)
	return append(b, d.Data...)
}

func appendOptional(b, v []byte) []byte {
	if len(v) == 0 {
		return append(b, 0)
	}
	return append(append(b, 1), v...)
}

// SignatureMessage is the 48-byte deep hash that the signature covers.
func (d *DataItem) SignatureMessage() [48]byte {
	// DeepHash("dataitem", "1", type, owner, target, anchor, tags, data), from the first four
	// steps' state, the same for every item of a signature type (itemPrefix).
	acc := itemPrefix(d.SignatureType)
	for _, b := range [...][]byte{d.Owner, d.Target, d.Anchor, d.tagBytes(), d.Data} {
		acc = deepHashFold(acc, b)
	}
	return acc
}

// checkShape verifies the fixed-size fields before signing or serialising a built item.
func (d *DataItem) checkShape() error {
	if len(d.Target) != 0 && len(d.Target) != 32 {
		return &FormatError{Field: "target", Reason: fmt.Sprintf("must be empty or 32 bytes, is %d", len(d.Target))}
	}
	if len(d.Anchor) != 0 && len(d.Anchor) != 32 {
		return &FormatError{Field: "anchor", Reason: fmt.Sprintf("must be empty or 32 bytes, is %d", len(d.Anchor))}
	}
	for i, t := range d.Tags {
		if t.Name == "" {
			return &FormatError{Field: "tags", Reason: fmt.Sprintf("tag %d has an empty name", i)}
		}
	}
	return nil
}

type reader struct {
	b   []byte
	off int
}

func (r *reader) take(field string, n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, &TruncatedError{Field: field, Need: n, Have: len(r.b) - r.off}
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v, nil
}

func (r *reader) u16(field string) (uint16, error) {
	v, err := r.take(field, 2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(v), nil
}

func (r *reader) u64(field string) (uint64, error) {
	v, err := r.take(field, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(v), nil
}

func (r *reader) optional32(field string) ([]byte, error) {
	p, err := r.take(field+" presence byte", 1)
	if err != nil {
		return nil, err
	}
	switch p[0] {
	case 0:
		return nil, nil
	case 1:
		return r.take(field, 32)
	}
	return nil, &FormatError{Field: field, Reason: fmt.Sprintf("presence byte is %d, must be 0 or 1", p[0])}
}

func clampInt(u uint64) int {
	if u > 1<<62 {
		return 1 << 62
	}
	return int(u)
}
