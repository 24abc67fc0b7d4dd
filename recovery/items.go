package recovery

import (
	"fmt"

	"github.com/actorweave/actorweave/ans104"
)

// TxFields is a standalone item as a gateway's GraphQL describes it: what is needed, with the data
// fetched separately, to rebuild the signed item.
type TxFields struct {
	ID        string
	Signature string // base64url
	OwnerKey  string // base64url public key
	Recipient string // base64url, "" when absent
	Anchor    string // base64url, "" when absent (arlocal never returns it)
	Tags      []ans104.Tag
}

// Rebuilt is an item rebuilt from a gateway's GraphQL fields and data.
type Rebuilt struct {
	Item *ans104.DataItem
	// Verified: the rebuilt item's signature verifies, so tags and data are what the signer signed.
	// A gateway that drops the anchor (arlocal) makes items that had one unverifiable: the data is
	// then trusted from the gateway, as the reference CU trusts it for modules.
	Verified bool
	Note     string // why it is not verified
}

// RebuildItem turns GraphQL fields plus data into a data item whose ID is want. It fails when the
// fields cannot form an item with that id; it reports (Verified=false) when the signature does not
// verify over them.
func RebuildItem(want ans104.ID, f TxFields, data []byte) (*Rebuilt, error) {
	fail := func(format string, a ...any) (*Rebuilt, error) {
		return nil, fmt.Errorf("recovery: item %s from the gateway: %s", want, fmt.Sprintf(format, a...))
	}
	sig, err := ans104.DecodeB64(f.Signature)
	if err != nil || len(sig) == 0 {
		return fail("no usable signature in the gateway's answer (%q)", clip(f.Signature))
	}
	owner, err := ans104.DecodeB64(f.OwnerKey)
	if err != nil || len(owner) == 0 {
		return fail("no usable owner key in the gateway's answer")
	}
	var st ans104.SignatureType
	for _, t := range []ans104.SignatureType{ans104.SigArweave, ans104.SigED25519, ans104.SigEthereum} {
		if t.OwnerLen() == len(owner) && t.SignatureLen() == len(sig) {
			st = t
		}
	}
	if st == 0 {
		return fail("owner key of %d bytes and signature of %d bytes match no signature type", len(owner), len(sig))
	}
	opt := func(name, s string) ([]byte, error) {
		if s == "" {
			return nil, nil
		}
		b, err := ans104.DecodeB64(s)
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("%s %q is not 32 bytes of base64url", name, clip(s))
		}
		return b, nil
	}
	target, err := opt("recipient", f.Recipient)
	if err != nil {
		return fail("%v", err)
	}
	anchor, err := opt("anchor", f.Anchor)
	if err != nil {
		return fail("%v", err)
	}
	d := &ans104.DataItem{SignatureType: st, Signature: sig, Owner: owner, Target: target, Anchor: anchor, Tags: f.Tags, Data: data}
	parsed, err := ans104.Parse(d.Bytes(), ans104.Limits{})
	if err != nil {
		return fail("%v", err)
	}
	if parsed.ID() != want {
		return fail("its signature hashes to %s", parsed.ID())
	}
	out := &Rebuilt{Item: parsed, Verified: true}
	if err := parsed.Verify(); err != nil {
		out.Verified = false
		out.Note = "signature does not verify over the gateway's fields"
		if f.Anchor == "" {
			out.Note += " (the gateway returned no anchor; arlocal does not store it)"
		}
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
