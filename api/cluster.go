package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
)

// ClusterStatuser is implemented by backends of clustered nodes: GET /cluster/status serves what
// it returns as JSON (members, weights, labels, process counts). A backend without it answers 501.
// Members' network addresses (Proto.Actor, gossip) and incarnation ids are shown only to a caller
// proving the cluster key (auth: headers X-Cluster-Time, ms, and X-Cluster-Mac, the admin MAC of
// "status" at that time); anyone else sees names, weights, labels and counts.
type ClusterStatuser interface {
	ClusterStatus(ctx context.Context, auth *AdminAuth) (any, error)
}

// AdminAuth is an operator's proof of the cluster key on a request (nil: none given).
type AdminAuth struct {
	Time int64 // Unix milliseconds
	MAC  string
}

func adminAuthOf(r *http.Request) *AdminAuth {
	mac := r.Header.Get("X-Cluster-Mac")
	ts, err := strconv.ParseInt(r.Header.Get("X-Cluster-Time"), 10, 64)
	if mac == "" || err != nil {
		return nil
	}
	return &AdminAuth{Time: ts, MAC: mac}
}

func (s *Server) handleClusterStatus(w http.ResponseWriter, r *http.Request) error {
	cs, ok := s.b.(ClusterStatuser)
	if !ok {
		return &apiError{msg: "this node has no cluster status", kind: ErrNotImplemented}
	}
	st, err := cs.ClusterStatus(r.Context(), adminAuthOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// ForgetRequest is the body of POST /cluster/forget: members (node names, as `cluster status`
// shows them) that will not come back, signed by an operator with the cluster key
// (cluster.SignAdmin over "forget", the time and the names).
type ForgetRequest struct {
	Names []string `json:"names"`
	Time  int64    `json:"time"` // Unix milliseconds
	MAC   string   `json:"mac"`
}

// ClusterForgetter is implemented by backends of clustered nodes: POST /cluster/forget removes dead
// members from the cluster's known members, which the quorum is counted against.
type ClusterForgetter interface {
	ClusterForget(ctx context.Context, req ForgetRequest) (any, error)
}

func (s *Server) handleClusterForget(w http.ResponseWriter, r *http.Request) error {
	cf, ok := s.b.(ClusterForgetter)
	if !ok {
		return &apiError{msg: "this node is not a cluster member", kind: ErrNotImplemented}
	}
	return adminPost(w, r, "cluster forget", "{names, time, mac}", func(req ForgetRequest) error {
		if len(req.Names) == 0 {
			return badRequest("cluster forget: no names")
		}
		return nil
	}, cf.ClusterForget)
}

// adminPost decodes an operator's signed JSON request (at most 64 KiB), checks its fields and
// answers what call returns (the MAC is the backend's to check: it holds the key).
func adminPost[T any](w http.ResponseWriter, r *http.Request, what, shape string, check func(T) error, call func(context.Context, T) (any, error)) error {
	var req T
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		return badRequest(what + ": body must be JSON " + shape + ": " + err.Error())
	}
	if err := check(req); err != nil {
		return err
	}
	out, err := call(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ResolveForkRequest is the body of POST /cluster/resolve-fork: keep Keep's history of Process (a
// member name as `cluster status` shows it, or its actor address), signed by an operator with the
// cluster key (cluster.SignAdmin over "resolve-fork", the time, the process and the node).
type ResolveForkRequest struct {
	Process string `json:"process"`
	Keep    string `json:"keep"`
	Time    int64  `json:"time"` // Unix milliseconds
	MAC     string `json:"mac"`
}

// ForkResolver is implemented by backends of replicated cluster members: POST /cluster/resolve-fork
// settles a process whose replicas hold two histories.
type ForkResolver interface {
	ClusterResolveFork(ctx context.Context, req ResolveForkRequest) (any, error)
}

func (s *Server) handleClusterResolveFork(w http.ResponseWriter, r *http.Request) error {
	fr, ok := s.b.(ForkResolver)
	if !ok {
		return &apiError{msg: "this node is not a replicated cluster member", kind: ErrNotImplemented}
	}
	return adminPost(w, r, "cluster resolve-fork", "{process, keep, time, mac}", func(req ResolveForkRequest) error {
		if req.Process == "" || req.Keep == "" {
			return badRequest("cluster resolve-fork: process and keep are required")
		}
		return nil
	}, fr.ClusterResolveFork)
}
