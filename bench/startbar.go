package bench

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// startBar is the progress display from before Progress, kept so that scenarios written against
// it (flush, on its own branch) still build; new code uses StartProgress, which also records the
// throughput series for the report and the plot.
//
// It draws a one-line progress bar on w until the returned func is called.
func startBar(w io.Writer, what string, total int, done *atomic.Int64) func() {
	if w == io.Discard {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	draw := func() {
		d := int(done.Load())
		frac := float64(d) / float64(total)
		filled := int(frac * 30)
		bar := make([]byte, 30)
		for i := range bar {
			bar[i] = '.'
			if i < filled {
				bar[i] = '#'
			}
		}
		rate := float64(d) / max(time.Since(start).Seconds(), 1e-9)
		fmt.Fprintf(w, "\r[%s] %d/%d %s  %.0f/s \x1b[K", bar, d, total, what, rate)
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				draw()
				fmt.Fprintln(w)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(stop); <-finished }
}
