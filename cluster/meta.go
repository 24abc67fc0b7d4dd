package cluster

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/memberlist"
)

// ProtocolVersion is the node-to-node protocol this build speaks. Members of another version are
// left out of the view (mixing versions is not supported: docs/design.md §8).
const ProtocolVersion = 1

// meta is what a node gossips about itself in its memberlist node metadata.
type meta struct {
	Cluster  string   `json:"c"`
	Protocol uint16   `json:"v"`
	Name     string   `json:"n"`
	Address  string   `json:"a"`
	Capacity uint32   `json:"w"`
	Labels   Labels   `json:"l,omitempty"`
	Kinds    []string `json:"k,omitempty"`
	// Hidden: the member is still starting what serves its peers; keep it out of views.
	Hidden bool `json:"h,omitempty"`
}

// encodeMeta renders m, refusing anything over memberlist's limit: memberlist would panic on it.
func encodeMeta(m meta) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("cluster: node metadata is %d bytes, over memberlist's limit of %d: use fewer or shorter --labels (%s)",
			len(b), memberlist.MetaMaxSize, m.Labels)
	}
	return b, nil
}

func decodeMeta(b []byte) (meta, error) {
	var m meta
	err := json.Unmarshal(b, &m)
	return m, err
}

// ParseLabels reads k=v,k=v (the --labels flag and the Placement-Labels tag). Keys and values are
// non-empty and hold no '=' or ','.
func ParseLabels(s string) (Labels, error) {
	out := Labels{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" || strings.Contains(v, "=") {
			return nil, fmt.Errorf("label %q: want key=value", kv)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("label %q given twice", k)
		}
		out[k] = v
	}
	return out, nil
}
