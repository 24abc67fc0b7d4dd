package arweave

import (
	"errors"
	"fmt"

	"github.com/actorweave/actorweave/ans104"
)

// A Scheduler-Delegation item lets another key sign assignments for the processes that name the
// delegating key's address as their Scheduler. It exists for logs written before one scheduler
// identity per cluster (docs/scheduler-identity.md): a node that moved from its own key to the
// cluster's scheduler key, or a cluster member whose own key signed some assignments. It is signed
// by the delegating key — the Scheduler named in the processes — and by nothing else: recovery
// accepts an assignment signer other than the Scheduler only when such an item, signed by the
// Scheduler, names it.
const (
	TypeDelegation = "Scheduler-Delegation"
	TagDelegator   = "Scheduler" // the delegating address, which must be the item's signer
	TagDelegate    = "Delegate"  // an address allowed to sign; repeated for several
)

// Delegation builds the unsigned delegation from delegator (the address of the key that will sign
// it) to delegates.
func Delegation(delegator string, delegates ...string) (*ans104.DataItem, error) {
	if delegator == "" || len(delegates) == 0 {
		return nil, errors.New("arweave: a delegation needs a delegator and at least one delegate")
	}
	tags := []ans104.Tag{
		{Name: TagAppName, Value: AppName},
		{Name: TagType, Value: TypeDelegation},
		{Name: TagDelegator, Value: delegator},
	}
	for _, d := range delegates {
		if d == "" || d == delegator {
			return nil, fmt.Errorf("arweave: delegate %q: empty or the delegator itself", d)
		}
		tags = append(tags, ans104.Tag{Name: TagDelegate, Value: d})
	}
	return ans104.NewItem([]byte("scheduler delegation"), nil, nil, tags), nil
}

// Delegates checks a verified item is a delegation signed by the address its Scheduler tag names
// and returns that address and the delegates. The caller must have verified d's signature.
func Delegates(d *ans104.DataItem) (delegator string, delegates []string, err error) {
	if d.Tags.Value(TagType) != TypeDelegation || d.Tags.Value(TagAppName) != AppName {
		return "", nil, fmt.Errorf("arweave: item %s is not a %s", d.ID(), TypeDelegation)
	}
	delegator = d.Tags.Value(TagDelegator)
	if got := d.OwnerAddress(); got != delegator {
		return "", nil, fmt.Errorf("arweave: delegation %s names Scheduler %s but is signed by %s", d.ID(), delegator, got)
	}
	for _, t := range d.Tags {
		if t.Name == TagDelegate && t.Value != "" {
			delegates = append(delegates, t.Value)
		}
	}
	if len(delegates) == 0 {
		return "", nil, fmt.Errorf("arweave: delegation %s names no delegate", d.ID())
	}
	return delegator, delegates, nil
}
