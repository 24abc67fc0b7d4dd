package recovery

import (
	"context"
	"fmt"
	"sort"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
)

// CertificateSource is a Source that can also list a process's Result-Batch items (the gateway
// does): the result certificates the process's Scheduler signed (arweave/FORMAT.md §6).
type CertificateSource interface {
	ResultBatches(ctx context.Context, pid ans104.ID) ([]ResultBatchRef, error)
}

// ResultBatchRef is a Result-Batch item as the gateway lists it.
type ResultBatchRef struct {
	Fields   TxFields
	Owner    string // signer address as the gateway reports it
	From, To uint64
}

// Certificate is one result certificate read back, with the batch that carried it.
type Certificate struct {
	arweave.Certified
	Batch string // the Result-Batch item's id
}

// Certificates reads every result certificate of pid that its Scheduler signed (or a key it
// delegated to, when src is a DelegationSource), by nonce; one entry may have several (a batch uploaded by
// two members, or again after a crash). A batch that is not signed by the Scheduler, whose
// signature does not verify, or whose data does not parse is left out and said in skipped.
func Certificates(ctx context.Context, src Source, pid ans104.ID, scheduler string) (map[uint64][]Certificate, []string, error) {
	cs, ok := src.(CertificateSource)
	if !ok {
		return nil, []string{src.Name() + " cannot list result certificates"}, nil
	}
	refs, err := cs.ResultBatches(ctx, pid)
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].From < refs[j].From })
	var delegates map[string]bool // asked of the gateway at the first foreign signer
	delegated := func(addr string) bool {
		ds, ok := src.(DelegationSource)
		if !ok {
			return false
		}
		if delegates == nil {
			delegates = map[string]bool{}
			list, _ := ds.Delegates(ctx, scheduler)
			for _, d := range list {
				delegates[d] = true
			}
		}
		return delegates[addr]
	}
	out := map[uint64][]Certificate{}
	var skipped []string
	seen := map[string]bool{}
	for _, ref := range refs {
		if seen[ref.Fields.ID] {
			continue
		}
		seen[ref.Fields.ID] = true
		skip := func(format string, a ...any) {
			skipped = append(skipped, fmt.Sprintf("result batch %s (nonces %d..%d): %s", ref.Fields.ID, ref.From, ref.To, fmt.Sprintf(format, a...)))
		}
		if ref.Owner != scheduler && !delegated(ref.Owner) {
			skip("signed by %s, not by the process's Scheduler %s nor by a key it delegated to", ref.Owner, scheduler)
			continue
		}
		id, err := ans104.ParseID(ref.Fields.ID)
		if err != nil {
			skip("bad id")
			continue
		}
		data, err := src.Data(ctx, ref.Fields.ID)
		if err != nil {
			return nil, nil, err
		}
		rb, err := RebuildItem(id, ref.Fields, data)
		if err != nil {
			skip("%v", err)
			continue
		}
		if !rb.Verified {
			skip("its signature does not verify: %s", rb.Note)
			continue
		}
		list, err := arweave.ParseCertified(data)
		if err != nil {
			skip("%v", err)
			continue
		}
		if len(list) == 0 || list[0].Nonce != ref.From || list[len(list)-1].Nonce != ref.To {
			skip("its certificates do not run from its From-Nonce to its To-Nonce")
			continue
		}
		for _, c := range list {
			out[c.Nonce] = append(out[c.Nonce], Certificate{Certified: c, Batch: ref.Fields.ID})
		}
	}
	return out, skipped, nil
}

// ResultBatches lists pid's Result-Batch items on the gateway.
func (s gateway) ResultBatches(ctx context.Context, pid ans104.ID) ([]ResultBatchRef, error) {
	var refs []ResultBatchRef
	tags := []arweave.TagFilter{{Name: arweave.TagType, Values: []string{arweave.TypeResultBatch}}, {Name: arweave.TagProcess, Values: []string{pid.String()}},
		{Name: arweave.TagAppName, Values: []string{arweave.AppName}}}
	err := s.g.EachSigned(ctx, s.r, tags, nil, func(tx arweave.SignedTx) error {
		p, from, to, err := arweave.ResultBatchRange(ans104.Tags(tx.Tags))
		if err != nil || p != pid {
			return nil // not one of ours after all: ignored, like any stranger's item
		}
		refs = append(refs, ResultBatchRef{Fields: fields(tx), Owner: tx.Owner.Address, From: from, To: to})
		return nil
	})
	return refs, err
}
