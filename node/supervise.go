package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Run starts a node and keeps it running until ctx ends, then drains it (cfg.DrainTimeout: a
// cluster member hands its processes over) and closes it (passivating every process). When the cluster watchdog fences the node (Wait returns ErrFenced: its member id was
// removed and is blocked for ever), Run closes it and starts it again: a new member id, the same
// data folder, and the same HTTP and memberlist ports (the ones it got, when cfg asked for any
// free port), so clients and the peers that remember its gossip address find it again. The
// remembered peers are in the data folder (<data>/cluster-peers.json), so the new incarnation
// rejoins them even when it is a seed started without --join. started is called with every
// incarnation, once it serves. Run returns the error of a node that stopped by itself, or of a
// restart that kept failing for restartTimeout.
//
// The HTTP port stays open across such a restart: Run holds the listener, and while the new
// incarnation starts (catching up with the cluster) a stand-in answers every request with 503 and
// Retry-After, so clients see "try again shortly", never a refused connection.
func Run(ctx context.Context, cfg Config, started func(*Node)) error {
	if cfg.port == nil {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
		}
		cfg.port = holdPort(ln)
		defer cfg.port.close()
	}
	n, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	for {
		if started != nil {
			started(n)
		}
		var werr error
		select {
		case <-ctx.Done():
		case werr = <-waitChan(n):
		}
		if werr == nil || !errors.Is(werr, ErrFenced) {
			if ctx.Err() == nil && werr != nil {
				_ = closeWithin(n, 30*time.Second)
				return werr
			}
			if cfg.DrainTimeout > 0 && n.provider != nil {
				// Graceful leave: hand every owned process to its successor before leaving.
				n.log.Info("shutting down: draining (handing processes over)", "timeout", cfg.DrainTimeout)
				dctx, dcancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
				if err := n.Drain(dctx); err != nil {
					n.log.Warn("drain incomplete", "err", err)
				}
				dcancel()
			}
			n.log.Info("shutting down: passivating processes")
			return closeWithin(n, 30*time.Second)
		}
		n.log.Error("restarting with a new cluster identity", "err", werr)
		cfg = pinPorts(cfg, n)
		// The stand-in takes the port's connections before the old incarnation lets go of it, so
		// that a connection the old server stops accepting is answered, not left waiting.
		standIn := &http.Server{Handler: http.HandlerFunc(rejoining), ReadHeaderTimeout: 10 * time.Second}
		standInLn := cfg.port.listener()
		go func() { _ = standIn.Serve(standInLn) }()
		_ = closeWithin(n, 30*time.Second)
		n, err = restart(ctx, cfg)
		handOver(context.Background(), standIn, standInLn, 5*time.Second)
		if err != nil {
			return err
		}
	}
}

// portHolder is the HTTP port Run holds across restarts. One goroutine accepts connections and
// hands each to whichever server is serving at the time; each server gets a listener of its own
// whose Close ends only that server's Accept (http.Server.Shutdown waits for its Serve to return),
// never the port.
type portHolder struct {
	ln    net.Listener
	conns chan net.Conn
	done  chan struct{}
	ended chan struct{}
}

func holdPort(ln net.Listener) *portHolder {
	h := &portHolder{ln: ln, conns: make(chan net.Conn), done: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(h.ended)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case h.conns <- c:
			case <-h.done:
				c.Close()
				return
			}
		}
	}()
	return h
}

// close releases the port and stops the accepting goroutine.
func (h *portHolder) close() {
	close(h.done)
	h.ln.Close()
	<-h.ended
}

func (h *portHolder) listener() *heldListener {
	return &heldListener{h: h, closed: make(chan struct{}), detached: make(chan struct{})}
}

// heldListener is one server's share of the held port. detach stops it taking connections from
// the port without ending its server's Accept (which would end Serve with an error); it counts the
// connections it handed out that are still open, so that handOver can wait for them.
type heldListener struct {
	h        *portHolder
	once     sync.Once
	closed   chan struct{}
	detached chan struct{}

	mu         sync.Mutex
	isDetached bool
	accepting  bool // an Accept may be taking a connection from the port
	open       int  // connections handed out and not yet closed
}

func (l *heldListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.isDetached {
		l.mu.Unlock()
		return l.waitClosed()
	}
	l.accepting = true
	l.mu.Unlock()
	var c net.Conn
	var err error
	select {
	case c = <-l.h.conns:
	case <-l.detached:
	case <-l.closed:
		err = net.ErrClosed
	case <-l.h.done:
		err = net.ErrClosed
	}
	l.mu.Lock()
	l.accepting = false
	if c != nil {
		l.open++
	}
	l.mu.Unlock()
	if c != nil {
		return &heldConn{Conn: c, l: l}, nil
	}
	if err != nil {
		return nil, err
	}
	return l.waitClosed()
}

func (l *heldListener) waitClosed() (net.Conn, error) {
	select {
	case <-l.closed:
	case <-l.h.done:
	}
	return nil, net.ErrClosed
}

func (l *heldListener) Close() error   { l.once.Do(func() { close(l.closed) }); return nil }
func (l *heldListener) Addr() net.Addr { return l.h.ln.Addr() }

// detach stops l taking connections from the port (another server's listener takes them); it
// reports whether every connection l handed out is closed: false while one is open, or while an
// Accept may still hand one out.
func (l *heldListener) detach() (quiet bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.isDetached {
		l.isDetached = true
		close(l.detached)
	}
	return !l.accepting && l.open == 0
}

type heldConn struct {
	net.Conn
	once sync.Once
	l    *heldListener
}

func (c *heldConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	})
	return err
}

// handOver stops srv, which serves on l, without dropping a request: http.Server.Shutdown closes,
// unanswered, a connection whose request it reads after the shutdown began (one accepted just
// before, whose request had not arrived yet), and the client sees EOF on a fresh connection, which
// it does not retry. So srv first stops taking connections from the port (the next server gets
// them) and stops keeping connections alive (idle ones are closed, a retry the client makes on a
// reused connection; the others close after their answer); once every connection it accepted has
// closed, or after grace, it shuts down, and what is still open then is cut.
func handOver(ctx context.Context, srv *http.Server, l *heldListener, grace time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	l.detach()
	srv.SetKeepAlivesEnabled(false)
	for !l.detach() && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
	}
}

// rejoining is what the HTTP port answers while the node restarts after a fence.
func rejoining(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"error":"this node is rejoining its cluster (restarting under a new member identity after a partition); retry shortly"}` + "\n"))
}

// restartTimeout bounds the attempts to start again after a fence (a port the old incarnation
// held may take a moment to be free).
const restartTimeout = 30 * time.Second

func restart(ctx context.Context, cfg Config) (*Node, error) {
	deadline := time.Now().Add(restartTimeout)
	for {
		n, err := Start(ctx, cfg)
		if err == nil {
			return n, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("restart after the cluster fenced this node: %w", err)
		}
		cfg.Logger.Warn("restart after fencing failed; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// pinPorts keeps the hosts cfg was given and replaces port 0 with the ports n got.
func pinPorts(cfg Config, n *Node) Config {
	pin := func(want, got string) string {
		h, p, err := net.SplitHostPort(want)
		_, gp, gerr := net.SplitHostPort(got)
		if err != nil || gerr != nil || p != "0" {
			return want
		}
		return net.JoinHostPort(h, gp)
	}
	cfg.Listen = pin(cfg.Listen, n.Addr())
	if n.provider != nil {
		cfg.Cluster.Listen = pin(cfg.Cluster.Listen, n.provider.GossipAddr())
	}
	return cfg
}

func waitChan(n *Node) <-chan error {
	c := make(chan error, 1)
	go func() { c <- n.Wait() }()
	return c
}

func closeWithin(n *Node, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return n.Close(ctx)
}
