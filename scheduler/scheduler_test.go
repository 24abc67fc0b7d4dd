package scheduler

import (
	"errors"
	"testing"

	"github.com/actorweave/actorweave/ans104"
)

// Reference values computed independently (Python hashlib/base64) from the formulas of
// docs/protocol.md §2.3.
const (
	refPID = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" // bytes 0..31
	refHC0 = "Yw3NKWbEM2aRElRIu7JbT_QSpJxzLbLIq8G4WBvXEN0" // SHA-256(pid)
	refAsg = "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo" // 32 x 0xaa
	refHC1 = "CVyXxugSUOEKAkOty46KDEuyJhMvFNki4RFi3_3JgRI" // SHA-256(asg ‖ hc0)
)

func mustID(t *testing.T, s string) ans104.ID {
	t.Helper()
	id, err := ans104.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestHashChainReferenceValues(t *testing.T) {
	pid, asg := mustID(t, refPID), mustID(t, refAsg)
	if got := Seed(pid).String(); got != refHC0 {
		t.Fatalf("seed = %s, want %s", got, refHC0)
	}
	if got := Link(asg, mustID(t, refHC0)).String(); got != refHC1 {
		t.Fatalf("link = %s, want %s", got, refHC1)
	}
}

func TestNext(t *testing.T) {
	pid, asg, msg := mustID(t, refPID), mustID(t, refAsg), ans104.ID{7}
	started := State{Process: pid, Started: true, Nonce: 0, Epoch: 2, Timestamp: 1000, HashChain: mustID(t, refHC0), AssignmentID: asg}
	cases := []struct {
		name      string
		prev      State
		in        Input
		wantNonce uint64
		wantTS    int64
		wantHC    string
		wantErr   bool
	}{
		{"legacy: first message gets nonce 0 and the seed", Fresh(pid), Input{Message: msg, Clock: 1700000000000, BlockHeight: 1500000}, 0, 1700000000000, refHC0, false},
		{"process-assignment mode: the process's own assignment is nonce 0", Fresh(pid), Input{Clock: 5}, 0, 5, refHC0, false},
		{"next nonce and chained hash", started, Input{Message: msg, Clock: 2000, Epoch: 2}, 1, 2000, refHC1, false},
		{"same millisecond: timestamp still increases", started, Input{Message: msg, Clock: 1000, Epoch: 2}, 1, 1001, refHC1, false},
		{"clock stepped back: timestamp still increases", started, Input{Message: msg, Clock: 10, Epoch: 2}, 1, 1001, refHC1, false},
		{"higher epoch is accepted", started, Input{Message: msg, Clock: 2000, Epoch: 3}, 1, 2000, refHC1, false},
		{"stale epoch is refused", started, Input{Message: msg, Clock: 2000, Epoch: 1}, 0, 0, "", true},
		{"process assignment after the first entry is refused", started, Input{Clock: 2000, Epoch: 2}, 0, 0, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Next(c.prev, c.in)
			if c.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", a)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Nonce != c.wantNonce || a.Timestamp != c.wantTS || a.HashChain.String() != c.wantHC {
				t.Fatalf("got nonce %d ts %d hc %s; want %d %d %s", a.Nonce, a.Timestamp, a.HashChain, c.wantNonce, c.wantTS, c.wantHC)
			}
			if a.Process != pid || a.Message != c.in.Message || a.Epoch != c.in.Epoch || a.BlockHeight != c.in.BlockHeight {
				t.Fatalf("fields not carried: %+v", a)
			}
		})
	}
	var se *StaleEpochError
	if _, err := Next(started, Input{Message: msg, Epoch: 1}); !errors.As(err, &se) || se.Log != 2 {
		t.Fatalf("want StaleEpochError naming the log's epoch, got %v", err)
	}
}

func TestAssignmentTagsAreTheReferenceOrder(t *testing.T) {
	a := ans104.Assignment{Process: mustID(t, refPID), Epoch: 0, Nonce: 12, HashChain: mustID(t, refHC1),
		BlockHeight: 1234, Timestamp: 1700000000123, Message: mustID(t, refAsg), Exclude: []string{"Data"}}
	want := []ans104.Tag{
		{Name: "Process", Value: refPID}, {Name: "Epoch", Value: "0"}, {Name: "Nonce", Value: "12"},
		{Name: "Hash-Chain", Value: refHC1}, {Name: "Block-Height", Value: "000000001234"},
		{Name: "Timestamp", Value: "1700000000123"}, {Name: "Data-Protocol", Value: "ao"},
		{Name: "Type", Value: "Assignment"}, {Name: "Variant", Value: "ao.TN.1"},
		{Name: "Message", Value: refAsg}, {Name: "Exclude", Value: "Data"},
	}
	got := a.Tags()
	if len(got) != len(want) {
		t.Fatalf("got %d tags %v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tag %d = %v, want %v", i, got[i], want[i])
		}
	}
	a.Message = ans104.ID{}
	a.Exclude = nil
	if tags := a.Tags(); len(tags) != 9 || tags[8].Name != "Variant" {
		t.Fatalf("process's own assignment must end at Variant: %v", tags)
	}
}

// A log built by Next/Sign/Advance verifies, and tampering with any link is caught.
func TestSignedLogVerifies(t *testing.T) {
	signer, err := ans104.GenerateEd25519Signer()
	if err != nil {
		t.Fatal(err)
	}
	pid := mustID(t, refPID)
	st := Fresh(pid)
	var chain []ChainEntry
	for i := 0; i < 50; i++ {
		a, err := Next(st, Input{Message: ans104.ID{byte(i + 1)}, Clock: 1000, BlockHeight: 9})
		if err != nil {
			t.Fatal(err)
		}
		item, err := Sign(a, signer)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := ans104.ParseAndVerify(item.Bytes(), ans104.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		back, err := ans104.AsAssignment(parsed)
		if err != nil {
			t.Fatal(err)
		}
		if back.Nonce != a.Nonce || back.HashChain != a.HashChain || back.Timestamp != a.Timestamp || back.Message != a.Message {
			t.Fatalf("assignment does not round-trip: %+v vs %+v", back, a)
		}
		st = st.Advance(a, item.ID())
		chain = append(chain, ChainEntry{Nonce: a.Nonce, HashChain: a.HashChain, AssignmentID: item.ID()})
	}
	if err := VerifyChain(pid, 0, chain); err != nil {
		t.Fatal(err)
	}
	if st.Timestamp != 1049 {
		t.Fatalf("50 items in one millisecond should end at 1049, got %d", st.Timestamp)
	}
	chain[20].AssignmentID[0] ^= 1
	var ce *ChainError
	if err := VerifyChain(pid, 0, chain); !errors.As(err, &ce) || ce.Index != 21 {
		t.Fatalf("tampered assignment id at 20 must break the link at 21, got %v", err)
	}
	chain[20].AssignmentID[0] ^= 1
	chain = append(chain[:10], chain[11:]...)
	if err := VerifyChain(pid, 0, chain); !errors.As(err, &ce) || ce.Index != 10 {
		t.Fatalf("missing nonce must be caught at 10, got %v", err)
	}
}
