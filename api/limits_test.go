package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestBodyDeadlineEndsWithTheBody: the body-rate floor moves the connection's read deadline while
// the body arrives; once the body is in, the request must live on (a transactions query that
// waits on a member, a result wait) past --http-body-grace. A deadline left set ends the server's
// background read of the connection, and that cancels the request's context.
func TestBodyDeadlineEndsWithTheBody(t *testing.T) {
	s := &Server{cfg: Config{Server: ServerLimits{MinBodyRate: 1 << 10, BodyGrace: 200 * time.Millisecond}}}
	s.cfg.Limits.MaxItemBytes = 1 << 20
	cancelled := make(chan bool, 1)
	h := s.limitBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			t.Errorf("body: %v", err)
		}
		select {
		case <-r.Context().Done():
			cancelled <- true
		case <-time.After(time.Second): // five times the grace
			cancelled <- false
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader(strings.Repeat("x", 100)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if <-cancelled {
		t.Fatal("the request's context was cancelled after its body was read (the body deadline outlived the body)")
	}
}
