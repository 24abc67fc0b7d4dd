package grain

import (
	"time"
)

// Bucket is a token bucket: rate tokens per second, at most burst saved up. It is not safe for
// concurrent use; each user (a grain's core, a pusher lane) owns its buckets. The caller says what
// time it is, so the core stays free of clocks.
type Bucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

// NewBucket returns a full bucket; a rate of 0 or less allows everything.
func NewBucket(rate, burst float64) *Bucket {
	return &Bucket{rate: rate, burst: max(burst, 1), tokens: max(burst, 1)}
}

func (b *Bucket) refill(now time.Time) {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
}

// Allow takes a token if one is there.
func (b *Bucket) Allow(now time.Time) bool {
	if b == nil || b.rate <= 0 {
		return true
	}
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// Reserve takes a token, going into debt if needed, and says how long to wait before using it.
func (b *Bucket) Reserve(now time.Time) time.Duration {
	if b == nil || b.rate <= 0 {
		return 0
	}
	b.refill(now)
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}
