package weavedrive

import (
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
)

func tags(kv ...string) []ans104.Tag {
	var out []ans104.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, ans104.Tag{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// The reference's checkAdmissible, case by case (admission.go).
func TestPlanAdmission(t *testing.T) {
	const id = "ID-of-the-item"
	cases := []struct {
		name            string
		process, module []ans104.Tag
		found           []bool
		admit           bool
		refusal, fail   string
		queries         int
		firstOwners     string
	}{
		{name: "On-Boot names the id", process: tags("On-Boot", id), admit: true},
		{name: "the last On-Boot counts", process: tags("On-Boot", id, "On-Boot", "other"), refusal: "Extension: WeaveDrive"},
		{name: "no extension", process: tags("Scheduler", "S"), refusal: "Extension: WeaveDrive"},
		{name: "extension on the module, attested", process: tags("Scheduler", "S"), module: tags("Extension", "WeaveDrive"),
			found: []bool{true}, admit: true, queries: 1, firstOwners: "S"},
		{name: "not attested", process: tags("Scheduler", "S", "Extension", "WeaveDrive", "Attestor", "A1", "Attestor", "A2"),
			found: []bool{false}, refusal: "no Attestation of ID-of-the-item signed by S, A1, A2 at or below block 42", queries: 1, firstOwners: "S,A1,A2"},
		{name: "Individual asks twice", process: tags("Scheduler", "S", "Extension", "WeaveDrive", "Availability-Type", "Individual"),
			found: []bool{false, true}, admit: true, queries: 2, firstOwners: "S"},
		{name: "the process's mode wins over the module's", process: tags("Scheduler", "S", "Availability-Type", "Assignments"),
			module: tags("Extension", "WeaveDrive", "Availability-Type", "Individual"), found: []bool{false}, refusal: "no Attestation", queries: 1, firstOwners: "S"},
		{name: "the module's mode by default", process: tags("Scheduler", "S"),
			module: tags("Extension", "WeaveDrive", "Availability-Type", "Individual"), found: []bool{false, false}, refusal: "no Attestation", queries: 2, firstOwners: "S"},
		{name: "Library fails", process: tags("Scheduler", "S", "Extension", "WeaveDrive", "Availability-Type", "Library"),
			found: []bool{false}, fail: "does not support Library attestations", queries: 1, firstOwners: "S"},
		{name: "unknown mode fails", process: tags("Scheduler", "S", "Extension", "WeaveDrive", "Availability-Type", "Everything"),
			fail: "Unsupported WeaveDrive mode: Everything"},
		{name: "nobody to attest", process: tags("Extension", "WeaveDrive"), refusal: "no Scheduler or Attestor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := PlanAdmission(id, 42, c.process, c.module)
			if len(p.Queries) != c.queries {
				t.Fatalf("%d queries, want %d: %+v", len(p.Queries), c.queries, p)
			}
			if c.queries > 0 {
				q := p.Queries[0]
				if strings.Join(q.Owners, ",") != c.firstOwners || q.MaxHeight != 42 {
					t.Fatalf("first query %+v", q)
				}
				want := map[string]string{"Type": "Attestation", "Message": id, "Data-Protocol": "ao"}
				for _, tf := range q.Tags {
					if want[tf.Name] != tf.Values[0] {
						t.Fatalf("tag %s=%v", tf.Name, tf.Values)
					}
				}
			}
			if c.queries == 2 {
				q := p.Queries[1]
				want := map[string]string{"Type": "Available", "ID": id, "Data-Protocol": "WeaveDrive"}
				for _, tf := range q.Tags {
					if want[tf.Name] != tf.Values[0] {
						t.Fatalf("Individual tag %s=%v", tf.Name, tf.Values)
					}
				}
			}
			admit, refusal, err := p.Outcome(id, c.found)
			switch {
			case c.fail != "":
				if err == nil || !strings.Contains(err.Error(), c.fail) {
					t.Fatalf("err %v, want %q", err, c.fail)
				}
			case err != nil:
				t.Fatal(err)
			case admit != c.admit:
				t.Fatalf("admitted %v, want %v (%s)", admit, c.admit, refusal)
			case !c.admit && !strings.Contains(refusal, c.refusal):
				t.Fatalf("refusal %q, want %q", refusal, c.refusal)
			}
		})
	}
}
