package bench

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// SampleInterval is how often a Progress samples its counter for the throughput-over-time series.
const SampleInterval = 250 * time.Millisecond

// LineInterval is how often a Progress prints a line when its writer is not a terminal.
var LineInterval = 2 * time.Second

// Progress counts work done in one phase of a scenario. It samples the count into a Series of the
// report (throughput over time, for the JSON and the plot) and shows it on w: a progress bar when w
// is a terminal, otherwise one line every LineInterval (logs and CI output stay readable). Done is
// an atomic add, cheap enough for the measured path.
type Progress struct {
	done   atomic.Int64
	series *Series
	start  time.Time
	stopc  chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// StartProgress starts counting a phase called what towards total (<= 0: unknown total) and adds
// its series to r.
func StartProgress(w io.Writer, r *Report, what, unit string, total int) *Progress {
	p := &Progress{series: &Series{Name: what, Unit: unit}, start: time.Now(), stopc: make(chan struct{})}
	r.Series = append(r.Series, p.series)
	p.series.Points = append(p.series.Points, [2]float64{0, 0})
	var bar *progressbar.ProgressBar
	if w == nil {
		w = io.Discard
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		limit := int64(total)
		if total <= 0 {
			limit = -1 // a spinner
		}
		bar = progressbar.NewOptions64(limit, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetWidth(30),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(SampleInterval)
		defer t.Stop()
		lastLine := time.Now()
		line := func() {
			d := p.done.Load()
			el := time.Since(p.start).Seconds()
			of := ""
			if total > 0 {
				of = fmt.Sprintf("/%d (%.0f%%)", total, 100*float64(d)/float64(total))
			}
			fmt.Fprintf(w, "%s: %d%s %s in %.1f s, %.0f %s/s\n", what, d, of, unit, el, float64(d)/max(el, 1e-9), unit)
		}
		for {
			select {
			case <-p.stopc:
				p.sample()
				if bar != nil {
					_ = bar.Set64(p.done.Load())
					_ = bar.Finish()
				} else if w != io.Discard {
					line()
				}
				return
			case <-t.C:
				p.sample()
				if bar != nil {
					_ = bar.Set64(p.done.Load())
				} else if w != io.Discard && time.Since(lastLine) >= LineInterval {
					line()
					lastLine = time.Now()
				}
			}
		}
	}()
	return p
}

func (p *Progress) sample() {
	p.series.Points = append(p.series.Points, [2]float64{time.Since(p.start).Seconds(), float64(p.done.Load())})
}

// Add counts n more units done.
func (p *Progress) Add(n int) { p.done.Add(int64(n)) }

// Done is the count so far.
func (p *Progress) Done() int64 { return p.done.Load() }

// Stop takes the last sample and ends the display; it may be called more than once.
func (p *Progress) Stop() {
	p.once.Do(func() { close(p.stopc); p.wg.Wait() })
}

// SyncWriter makes w safe for the progress goroutines and the scenario to write to at once. A
// file is returned as it is (each write is one system call, and the terminal check needs it).
func SyncWriter(w io.Writer) io.Writer {
	if _, ok := w.(*os.File); ok || w == nil {
		return w
	}
	return &syncWriter{w: w}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
