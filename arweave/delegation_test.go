package arweave

import (
	"testing"

	"github.com/actorweave/actorweave/ans104"
)

// A delegation counts only when signed by the address it delegates for: one that names a victim's
// address but is signed by another key is refused.
func TestDelegatesRefusesForgery(t *testing.T) {
	victim, _ := ans104.GenerateEd25519Signer()
	attacker, _ := ans104.GenerateEd25519Signer()
	va, aa := ans104.Address(victim.SignatureType(), victim.Owner()), ans104.Address(attacker.SignatureType(), attacker.Owner())

	d, err := Delegation(va, aa)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Sign(victim); err != nil {
		t.Fatal(err)
	}
	if from, to, err := Delegates(d); err != nil || from != va || len(to) != 1 || to[0] != aa {
		t.Fatalf("genuine delegation: %s %v %v", from, to, err)
	}

	forged, _ := Delegation(va, aa)
	if err := forged.Sign(attacker); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Delegates(forged); err == nil {
		t.Fatal("a delegation signed by another key than its Scheduler was accepted")
	}
	if _, err := Delegation(va); err == nil {
		t.Fatal("a delegation with no delegate was built")
	}
}
