package gateway

import (
	"math"
	"sync"
	"time"
)

// tokenBucket is a per-service rate limiter: rate tokens per second, up to burst saved.
type tokenBucket struct {
	clock Clock
	cfg   RateLimit

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newTokenBucket(clock Clock, cfg RateLimit) *tokenBucket {
	if cfg.Burst <= 0 {
		cfg.Burst = int(math.Max(1, math.Ceil(cfg.RequestsPerSecond)))
	}
	return &tokenBucket{clock: clock, cfg: cfg, tokens: float64(cfg.Burst), last: clock.Now()}
}

// allow takes one token. When none is left it returns false and how long until one is
// (rounded up to whole seconds, at least 1, for Retry-After).
func (b *tokenBucket) allow() (bool, int) {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(float64(b.cfg.Burst), b.tokens+el.Seconds()*b.cfg.RequestsPerSecond)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := (1 - b.tokens) / b.cfg.RequestsPerSecond
	return false, int(math.Max(1, math.Ceil(wait)))
}
