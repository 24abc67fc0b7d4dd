package api

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// ServerLimits bound the HTTP server itself, below the routes: how long a connection may take to
// send a request or receive an answer, how slowly it may send a body, how many connections and
// how many body bytes may be held at once. Every field has a default (DefaultServerLimits) and a
// flag on `actorweave node`.
type ServerLimits struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration // the whole request, body included
	WriteTimeout      time.Duration // from the end of the request headers to the end of the answer
	IdleTimeout       time.Duration // a keep-alive connection with no request
	// MinBodyRate is the slowest a body may arrive, in bytes per second, after BodyGrace: a body
	// trickled slower is cut off (408), so that slow uploads cannot hold memory.
	MinBodyRate int64
	BodyGrace   time.Duration
	MaxConns    int   // connections open at once; more wait in the kernel's backlog
	MaxInFlight int64 // declared body bytes of requests being read at once; more get 503
}

// DefaultServerLimits: results wait up to 30 s, so answers get 60 s; bodies at least 64 KiB/s
// after 5 s (a 10 MiB item then takes at most ~165 s, inside the 180 s read timeout).
func DefaultServerLimits() ServerLimits {
	return ServerLimits{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 180 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 60 * time.Second, MinBodyRate: 64 << 10, BodyGrace: 5 * time.Second, MaxConns: 1024, MaxInFlight: 256 << 20}
}

// NewHTTPServer is the node's http.Server for h with l's timeouts.
func NewHTTPServer(h http.Handler, l ServerLimits) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		WriteTimeout: l.WriteTimeout, IdleTimeout: l.IdleTimeout, MaxHeaderBytes: 64 << 10}
}

// LimitListener accepts at most n connections at once (n <= 0: no bound).
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, sem: make(chan struct{}, n)}
}

type limitListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// bodyBudget counts the declared body bytes of requests being read.
type bodyBudget struct {
	mu   sync.Mutex
	used int64
	max  int64
}

func (b *bodyBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max > 0 && b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

func (b *bodyBudget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// limitBodies applies the body-rate floor and the in-flight budget to every request with a body.
// A body of unknown length is counted at maxBody (what the routes accept at most).
func (s *Server) limitBodies(next http.Handler) http.Handler {
	l := s.cfg.Server
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		n := r.ContentLength
		if n < 0 || n > s.maxBody() {
			n = s.maxBody()
		}
		if !s.inFlight.take(n) {
			writeError(w, r, &apiError{msg: fmt.Sprintf("the node is reading %d bytes of request bodies already (--http-max-body-in-flight %d); retry later", s.inFlight.used, l.MaxInFlight), kind: ErrUnavailable})
			return
		}
		defer s.inFlight.give(n)
		if l.MinBodyRate > 0 {
			rc := http.NewResponseController(w)
			start := time.Now()
			_ = rc.SetReadDeadline(start.Add(l.BodyGrace))
			r.Body = &rateBody{ReadCloser: r.Body, rc: rc, start: start, grace: l.BodyGrace, rate: l.MinBodyRate}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) maxBody() int64 { return max(int64(s.cfg.Limits.MaxItemBytes), s.cfg.MaxDryRunBytes) }

// rateBody moves the connection's read deadline as the body arrives: the body must keep up with
// rate bytes per second after grace, or the next read times out.
type rateBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64
	read  int64
}

func (b *rateBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if err == io.EOF {
		// The whole body is in. Left set, the deadline would end the server's background read
		// of the idle connection, which cancels the request's context: every request that
		// outlived --http-body-grace after its body (a slow query, a long result wait) was cut.
		_ = b.rc.SetReadDeadline(time.Time{})
		return n, err
	}
	allowed := b.grace + time.Duration(float64(b.read)/float64(b.rate)*float64(time.Second))
	_ = b.rc.SetReadDeadline(b.start.Add(allowed))
	if err != nil && isTimeout(err) {
		err = &apiError{msg: fmt.Sprintf("request body slower than %d bytes/s after %s (--http-min-body-rate)", b.rate, b.grace), kind: errSlowBody}
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errSlowBody: the client sent its body too slowly (HTTP 408).
var errSlowBody = errors.New("request body too slow")
