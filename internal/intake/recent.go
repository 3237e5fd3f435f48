package intake

import (
	"crypto/sha256"
	"sync"
	"time"
)

// recent remembers the hashes of recently stored request bodies, so that a sender retrying a
// delivery whose answer it lost does not store the same lines twice. It forgets after ttl, and
// starts over past max entries (a retry comes within seconds, not after thousands of requests).
type recent struct {
	mu   sync.Mutex
	seen map[[32]byte]time.Time
	ttl  time.Duration
	max  int
}

func newRecent(ttl time.Duration, max int) *recent {
	return &recent{seen: map[[32]byte]time.Time{}, ttl: ttl, max: max}
}

// first reports whether body was not seen within ttl, and remembers it.
func (r *recent) first(body []byte, now time.Time) bool {
	h := sha256.Sum256(body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if at, ok := r.seen[h]; ok && now.Sub(at) < r.ttl {
		return false
	}
	if len(r.seen) >= r.max {
		for k, at := range r.seen {
			if now.Sub(at) >= r.ttl {
				delete(r.seen, k)
			}
		}
		if len(r.seen) >= r.max {
			r.seen = map[[32]byte]time.Time{}
		}
	}
	r.seen[h] = now
	return true
}

// forget drops a body whose storing failed, so its retry is stored.
func (r *recent) forget(body []byte) {
	h := sha256.Sum256(body)
	r.mu.Lock()
	delete(r.seen, h)
	r.mu.Unlock()
}
