package api

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyedLimiter is a token bucket per key (reference or client address)
// that counts failures. An entry whose bucket has refilled completely is
// indistinguishable from a new one, so sweeps drop those: memory stays
// bounded by the failures of the last refill period.
type keyedLimiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	entries   map[string]*rate.Limiter
	lastSweep time.Time
}

func newKeyedLimiter(l Limit) *keyedLimiter {
	return &keyedLimiter{limit: rate.Every(l.Every), burst: l.Burst, entries: map[string]*rate.Limiter{}}
}

// retryAfter returns how long key must wait before its next attempt, 0 if
// it may try now.
func (k *keyedLimiter) retryAfter(key string, now time.Time) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.entries[key]
	if !ok {
		return 0
	}
	tokens := l.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - tokens) / float64(k.limit) * float64(time.Second)))
}

// fail records a failed attempt of key.
func (k *keyedLimiter) fail(key string, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.entries[key]
	if !ok {
		l = rate.NewLimiter(k.limit, k.burst)
		k.entries[key] = l
	}
	l.AllowN(now, 1)
	if now.Sub(k.lastSweep) > time.Minute {
		k.lastSweep = now
		for key, l := range k.entries {
			if l.TokensAt(now) >= float64(k.burst) {
				delete(k.entries, key)
			}
		}
	}
}
