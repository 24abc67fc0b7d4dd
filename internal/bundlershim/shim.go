package bundlershim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
)

// Shim is a running bundler.
type Shim struct {
	URL    string
	l1     *arweave.L1
	window time.Duration
	srv    *http.Server
	ln     net.Listener

	mu      sync.Mutex
	posted  map[ans104.ID]bool
	pending []*waiter
	timer   *time.Timer
	// Items counts distinct items posted to the gateway; Posts counts POST /tx requests.
	items, posts, dups int
}

type waiter struct {
	item *ans104.DataItem
	done chan error
}

// Start serves on a free loopback port; uploads go to the gateway through the RSA wallet.
func Start(gateway string, wallet ans104.Signer, window time.Duration) (*Shim, error) {
	l1, err := arweave.NewL1(gateway, wallet)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Shim{URL: "http://" + ln.Addr().String(), l1: l1, window: window, ln: ln, posted: map[ans104.ID]bool{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops serving.
func (s *Shim) Close() { _ = s.srv.Close() }

// Stats returns distinct items posted to the gateway, POST /tx requests, and duplicates answered
// without posting.
func (s *Shim) Stats() (items, posts, dups int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.items, s.posts, s.dups
}

func (s *Shim) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !(r.URL.Path == "/tx" || strings.HasPrefix(r.URL.Path, "/tx/")) {
		http.Error(w, "POST /tx only", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	item, err := ans104.ParseAndVerify(body, ans104.DefaultLimits())
	if err != nil {
		http.Error(w, "invalid data item: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.posts++
	if s.posted[item.ID()] {
		s.dups++
		s.mu.Unlock()
		reply(w, item.ID())
		return
	}
	wt := &waiter{item: item, done: make(chan error, 1)}
	s.pending = append(s.pending, wt)
	if s.timer == nil {
		s.timer = time.AfterFunc(s.window, s.flush)
	}
	s.mu.Unlock()
	select {
	case err := <-wt.done:
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		reply(w, item.ID())
	case <-r.Context().Done():
	}
}

func reply(w http.ResponseWriter, id ans104.ID) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": id.String(), "timestamp": time.Now().UnixMilli()})
}

// flush posts everything pending as one L1 bundle.
func (s *Shim) flush() {
	s.mu.Lock()
	batch := s.pending
	s.pending, s.timer = nil, nil
	var items []*ans104.DataItem
	seen := map[ans104.ID]bool{}
	for _, w := range batch {
		if !s.posted[w.item.ID()] && !seen[w.item.ID()] {
			seen[w.item.ID()] = true
			items = append(items, w.item)
		}
	}
	s.mu.Unlock()
	var err error
	if len(items) > 0 {
		err = s.post(items)
	}
	s.mu.Lock()
	if err == nil {
		for _, it := range items {
			s.posted[it.ID()] = true
		}
		s.items += len(items)
	}
	s.mu.Unlock()
	for _, w := range batch {
		w.done <- err
	}
}

func (s *Shim) post(items []*ans104.DataItem) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	u, err := s.l1.Prepare(ctx, items)
	if err != nil {
		return err
	}
	if err := s.l1.Post(ctx, u); err != nil {
		if ok, lerr := s.l1.Landed(ctx, u); lerr == nil && ok {
			return nil
		}
		return fmt.Errorf("bundler shim: posting %d items: %w", len(items), err)
	}
	return nil
}
