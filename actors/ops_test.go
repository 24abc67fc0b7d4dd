package actors

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clusterpb"
	"github.com/actorweave/actorweave/persistence"
)

// Every operation that crosses the wire has its own name: two sharing one would have the second
// registration silently answer the first one's calls.
func TestWiredOpsHaveDistinctNames(t *testing.T) {
	seen := map[string]bool{opLabels: true}
	for _, o := range append(append([]wired{}, grainOps...), readOps...) {
		name := reflect.ValueOf(o).Elem().FieldByName("name").String()
		if name == "" || seen[name] {
			t.Fatalf("operation name %q is empty or used twice", name)
		}
		seen[name] = true
	}
	if len(seen) != 1+len(grainOps)+len(readOps) {
		t.Fatalf("%d names for %d operations", len(seen), 1+len(grainOps)+len(readOps))
	}
}

// roundTrip sends req and rep of o through their protobuf forms, as a forwarded call does, and
// checks both arrive as they left.
func roundTrip[Req, Rep any](t *testing.T, h *Host, o *op[Req, Rep], pid ans104.ID, req Req, rep Rep) {
	t.Helper()
	body, err := proto.Marshal(o.encodeReq(h, pid, req))
	if err != nil {
		t.Fatal(err)
	}
	gotPid, gotReq, err := o.decodeReq(h, body)
	if err != nil {
		t.Fatalf("%s: decode request: %v", o.name, err)
	}
	if gotPid != pid || !reflect.DeepEqual(gotReq, req) {
		t.Fatalf("%s: request %v for %s came back as %v for %s", o.name, req, pid, gotReq, gotPid)
	}
	m, err := o.encodeRep(rep)
	if err != nil {
		t.Fatal(err)
	}
	if body, err = proto.Marshal(m); err != nil {
		t.Fatal(err)
	}
	gotRep, err := o.decodeRep(body)
	if err != nil {
		t.Fatalf("%s: decode reply: %v", o.name, err)
	}
	if !reflect.DeepEqual(gotRep, rep) {
		t.Fatalf("%s: reply %+v came back as %+v", o.name, rep, gotRep)
	}
}

func TestOpsCrossTheWireUnchanged(t *testing.T) {
	h := &Host{}
	h.metrics = newMetrics(prometheus.NewRegistry(), h)
	pid, msg := ans104.ID{1, 2, 3}, ans104.ID{9, 8, 7}
	ack := Ack{ID: msg, Nonce: 42, Timestamp: 1_700_000_000_000}
	from, to := int64(-1), int64(99)

	roundTrip(t, h, opAssign, pid, assignArgs{message: msg, exclude: []string{"Data"}}, ack)
	roundTrip(t, h, opLocate, pid, msg, ack)
	roundTrip(t, h, opDryRun, pid, []byte(`{"Tags":[]}`), &StoredResult{Nonce: 3, Timestamp: 5, Cron: "0-1-minutes"})
	roundTrip(t, h, opState, pid, struct{}{}, &MemoryState{Memory: []byte("mem"), Nonce: 7, Timestamp: 8, BlockHeight: 9})
	roundTrip(t, h, opMonitor, pid, true, struct{}{})
	roundTrip(t, h, opProcess, pid, struct{}{}, &ProcessRecord{Item: []byte("item"), Timestamp: 1, BlockHeight: 2})
	roundTrip(t, h, opEntry, pid, entryQuery{id: msg}, &LogEntry{Nonce: 1, Timestamp: 2, Assignment: []byte("a"), Message: []byte("m")})
	roundTrip(t, h, opEntry, pid, entryQuery{latest: true}, &LogEntry{Nonce: 1, Timestamp: 2, Assignment: []byte("a")})
	roundTrip(t, h, opLog, pid, LogQuery{ByNonce: true, From: &from, To: &to, Limit: 50},
		&LogPage{Entries: []LogEntry{{Nonce: 0, Assignment: []byte("a0"), Message: []byte("p")}, {Nonce: 1, Assignment: []byte("a1")}}, HasMore: true})
	roundTrip(t, h, opLog, pid, LogQuery{Limit: 10}, &LogPage{Entries: []LogEntry{}})
	roundTrip(t, h, opResultOf, pid, msg, []byte(`{"Nonce":1}`))

	// A results page travels as the stored bytes and is decoded once, on arrival.
	stored := []byte(`{"Output":"x","Messages":[],"Spawns":[],"Assignments":[],"GasUsed":1,"Nonce":4,"Timestamp":6,"BlockHeight":0}`)
	r, err := decodeResult(stored)
	if err != nil {
		t.Fatal(err)
	}
	page := &ResultsPage{Results: []*StoredResult{r}, HasMore: true, raw: [][]byte{stored}}
	m, _ := opResults.encodeRep(page)
	body, _ := proto.Marshal(m)
	got, err := opResults.decodeRep(body)
	if err != nil || !got.HasMore || len(got.Results) != 1 || !reflect.DeepEqual(got.Results[0], r) {
		t.Fatalf("results page came back as %+v, %v", got, err)
	}
	q := ResultsQuery{From: &from, Desc: true, Limit: 3, CronOnly: true}
	body, _ = proto.Marshal(opResults.encodeReq(h, pid, q))
	if gp, gq, err := opResults.decodeReq(h, body); err != nil || gp != pid || !reflect.DeepEqual(gq, q) {
		t.Fatalf("results query came back as %+v for %s: %v", gq, gp, err)
	}
}

// A forwarded submit is verified by its owner unless it carries this cluster's proof that the
// sending member verified it; a forged signature is refused either way without the proof.
func TestForwardedSubmitNeedsProofOrSignature(t *testing.T) {
	h := &Host{}
	h.metrics = newMetrics(prometheus.NewRegistry(), h)
	signer, err := ans104.GenerateEd25519Signer()
	if err != nil {
		t.Fatal(err)
	}
	target := ans104.ID{5}
	item := ans104.NewItem([]byte("hi"), target[:], nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"},
		{Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Message"}})
	if err := item.Sign(signer); err != nil {
		t.Fatal(err)
	}
	body, _ := proto.Marshal(opSubmit.encodeReq(h, target, item))
	pid, got, err := opSubmit.decodeReq(h, body)
	if err != nil || pid != target || !bytes.Equal(got.Bytes(), item.Bytes()) {
		t.Fatalf("a signed message arrived as %v for %s: %v", got, pid, err)
	}

	forged := append([]byte(nil), item.Bytes()...)
	forged[len(forged)-1] ^= 1 // the data: the signature no longer matches
	body, _ = proto.Marshal(&clusterpb.SubmitRequest{Item: forged})
	if _, _, err := opSubmit.decodeReq(h, body); !errors.Is(err, persistence.ErrInvalid) {
		t.Fatalf("a forged item without proof: %v, want ErrInvalid", err)
	}

	h.deps.ItemProof = (&awcluster.Security{ItemKey: []byte("this cluster's item key")}).ItemProof()
	body, _ = proto.Marshal(&clusterpb.SubmitRequest{Item: forged, Verified: h.deps.ItemProof.Prove(forged)})
	if _, _, err := opSubmit.decodeReq(h, body); err != nil {
		t.Fatalf("an item with a valid proof is parsed, not verified again: %v", err)
	}
	body, _ = proto.Marshal(&clusterpb.SubmitRequest{Item: forged, Verified: (&awcluster.Security{ItemKey: []byte("another cluster's key")}).ItemProof().Prove(forged)})
	if _, _, err := opSubmit.decodeReq(h, body); !errors.Is(err, persistence.ErrInvalid) {
		t.Fatalf("a proof made with another key: %v, want ErrInvalid", err)
	}
}
