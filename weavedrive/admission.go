package weavedrive

import (
	"fmt"
	"slices"
	"strings"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
)

// Admission of a /data read, as the reference drive's checkAdmissible decides it (permaweb/aos
// extensions/weavedrive/src/index.js, @permaweb/weavedrive 0.0.18; docs/wasm-abi.md §3.1):
//
//  1. the process's On-Boot tag names the id: admitted;
//  2. neither the module nor the process has `Extension: WeaveDrive`: refused;
//  3. the mode is the process's Availability-Type, else the module's, else Assignments; one of
//     Assignments, Individual, Library, else the read fails ("Unsupported WeaveDrive mode");
//  4. the attestors are the process's Scheduler and its Attestor tags; admitted if one of them
//     signed an item `Type: Attestation, Message: <id>, Data-Protocol: ao` in a block at or below
//     the message's Block-Height;
//  5. in Individual mode, also if one signed `Type: Available, ID: <id>, Data-Protocol: WeaveDrive`;
//  6. otherwise Library mode fails the read (the reference has no Library attestations) and the
//     others refuse it.
//
// Where a tag repeats, the reference takes its last value. Plan is the pure part; Drive runs its
// queries against the gateway in order.

// Query is one GraphQL question: is there an item by one of Owners, at or below MaxHeight, with
// every tag of Tags?
type Query struct {
	Owners    []string
	MaxHeight uint64
	Tags      []arweave.TagFilter
}

// Plan is what admission needs to decide a read.
type Plan struct {
	Admit   bool    // admitted without asking (On-Boot)
	Refuse  string  // refused without asking: the reason
	Fail    string  // the read fails (an unsupported mode): the reason
	Queries []Query // admitted if any answers yes, tried in order
	// Library: when no query answers yes, the read fails instead of being refused.
	Library bool
}

// PlanAdmission decides what it takes to admit a read of id by a process (its tags, and its
// module's) for a message at block height.
func PlanAdmission(id string, height uint64, process, module []ans104.Tag) Plan {
	if boot, ok := lastTag(process, "On-Boot"); ok && boot == id {
		return Plan{Admit: true}
	}
	if !slices.Contains(tagValues(module, "Extension"), "WeaveDrive") &&
		!slices.Contains(tagValues(process, "Extension"), "WeaveDrive") {
		return Plan{Refuse: "neither the process nor its module has the tag Extension: WeaveDrive"}
	}
	mode := "Assignments"
	if m, ok := lastTag(module, "Availability-Type"); ok && m != "" {
		mode = m
	}
	if m, ok := lastTag(process, "Availability-Type"); ok && m != "" {
		mode = m
	}
	switch mode {
	case "Assignments", "Individual", "Library":
	default:
		return Plan{Fail: "Unsupported WeaveDrive mode: " + mode}
	}
	var attestors []string
	if s, ok := lastTag(process, "Scheduler"); ok && s != "" {
		attestors = append(attestors, s)
	}
	for _, a := range tagValues(process, "Attestor") {
		if a != "" {
			attestors = append(attestors, a)
		}
	}
	if len(attestors) == 0 {
		// The reference would ask with an empty owners list, which a gateway reads as "anyone".
		return Plan{Refuse: "the process names no Scheduler or Attestor to attest the item"}
	}
	p := Plan{Library: mode == "Library", Queries: []Query{{Owners: attestors, MaxHeight: height, Tags: []arweave.TagFilter{
		{Name: "Type", Values: []string{"Attestation"}},
		{Name: "Message", Values: []string{id}},
		{Name: "Data-Protocol", Values: []string{"ao"}},
	}}}}
	if mode == "Individual" {
		p.Queries = append(p.Queries, Query{Owners: attestors, MaxHeight: height, Tags: []arweave.TagFilter{
			{Name: "Type", Values: []string{"Available"}},
			{Name: "ID", Values: []string{id}},
			{Name: "Data-Protocol", Values: []string{"WeaveDrive"}},
		}})
	}
	return p
}

// Outcome is the decision once the queries are answered (found[i] for p.Queries[i]): admitted, or
// the refusal's reason, or err for a read that fails.
func (p Plan) Outcome(id string, found []bool) (admitted bool, refusal string, err error) {
	switch {
	case p.Admit:
		return true, "", nil
	case p.Fail != "":
		return false, "", fmt.Errorf("weavedrive: %s", p.Fail)
	case p.Refuse != "":
		return false, p.Refuse, nil
	}
	if slices.Contains(found, true) {
		return true, "", nil
	}
	if p.Library {
		return false, "", fmt.Errorf("weavedrive: This WeaveDrive implementation does not support Library attestations yet!")
	}
	q := p.Queries[0]
	return false, fmt.Sprintf("no Attestation of %s signed by %s at or below block %d", id, strings.Join(q.Owners, ", "), q.MaxHeight), nil
}

func tagValues(tags []ans104.Tag, name string) []string {
	var out []string
	for _, t := range tags {
		if t.Name == name {
			out = append(out, t.Value)
		}
	}
	return out
}

func lastTag(tags []ans104.Tag, name string) (string, bool) {
	v := tagValues(tags, name)
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}
