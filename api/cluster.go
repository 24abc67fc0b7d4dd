package api

import (
	"context"
	"net/http"
)

// ClusterStatuser is implemented by backends of clustered nodes: GET /cluster/status serves what
// it returns as JSON (members, weights, labels, process counts). A backend without it answers 501.
type ClusterStatuser interface {
	ClusterStatus(ctx context.Context) (any, error)
}

func (s *Server) handleClusterStatus(w http.ResponseWriter, r *http.Request) error {
	cs, ok := s.b.(ClusterStatuser)
	if !ok {
		return &apiError{msg: "this node has no cluster status", kind: ErrNotImplemented}
	}
	st, err := cs.ClusterStatus(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
