package api

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// limiterBuckets is the number of token buckets of each limiter table:
// 65,536 buckets of 16 bytes, 1 MiB per table, whatever the traffic.
const limiterBuckets = 1 << 16

// bucketTable counts failed attempts in a fixed number of token buckets,
// indexed by a keyed hash of the key (a reference, a client address, or
// both). Its memory never grows: a key is never stored, only hashed, so a
// 600 KB reference costs what a short one costs. Two keys that share a
// bucket share its budget, which only ever makes the limit stricter for
// them; the hash seed is random per process, so nobody can pick keys
// that collide with a given citizen's.
type bucketTable struct {
	rate  float64 // tokens per second
	burst float64
	seed  maphash.Seed

	mu      sync.Mutex
	buckets []bucket
}

// bucket is a token bucket. The zero value is a full bucket (last == 0
// means "never used").
type bucket struct {
	used float64 // tokens taken, as of last; 0 = full
	last int64   // unix nanoseconds of the last update
}

func newBucketTable(l Limit) *bucketTable {
	return &bucketTable{
		rate:    1 / l.Every.Seconds(),
		burst:   float64(l.Burst),
		seed:    maphash.MakeSeed(),
		buckets: make([]bucket, limiterBuckets),
	}
}

func (t *bucketTable) index(key string) int {
	return int(maphash.String(t.seed, key) & (limiterBuckets - 1))
}

// usedAt is how many tokens of b are taken at now, after refilling.
func (t *bucketTable) usedAt(b bucket, now time.Time) float64 {
	if b.last == 0 {
		return 0
	}
	elapsed := float64(now.UnixNano()-b.last) / float64(time.Second)
	return max(0, b.used-elapsed*t.rate)
}

// retryAfter returns how long key must wait until it has at least need
// tokens (1: one more attempt; the burst: a clean slate), 0 if it has them.
func (t *bucketTable) retryAfter(key string, need float64, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	free := t.burst - t.usedAt(t.buckets[t.index(key)], now)
	if free >= need {
		return 0
	}
	return time.Duration(math.Ceil((need - free) / t.rate * float64(time.Second)))
}

// exhausted reports whether key has used its whole burst.
func (t *bucketTable) exhausted(key string, now time.Time) bool {
	return t.retryAfter(key, 1, now) > 0
}

// fail records a failed attempt of key (taking a token; an empty bucket
// stays empty rather than going into debt).
func (t *bucketTable) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := &t.buckets[t.index(key)]
	b.used = min(t.burst, t.usedAt(*b, now)+1)
	b.last = now.UnixNano()
}

// inUse counts the buckets that are not full at now (for tests and
// diagnostics); it never exceeds limiterBuckets.
func (t *bucketTable) inUse(now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, b := range t.buckets {
		if t.usedAt(b, now) > 0 {
			n++
		}
	}
	return n
}
