package api

import (
	"net/http"
	"time"
)

// LimiterInUse counts the buckets of the status limiters that hold
// failures: per reference and client, per client, per reference.
func LimiterInUse(s *Server) (pair, client, reference int) {
	now := time.Now()
	return s.byPair.inUse(now), s.byClient.inUse(now), s.byRef.inUse(now)
}

// LimiterBuckets is the number of buckets of all limiter tables.
func LimiterBuckets(s *Server) int {
	return len(s.byPair.buckets) + len(s.byClient.buckets) + len(s.byRef.buckets)
}

// StatusDocumentBody is the body the status endpoint sends for reference
// in lang after the access check (see Server.lookupStatusDocument).
func StatusDocumentBody(s *Server, r *http.Request, reference, accessCode, lang string) ([]byte, error) {
	return s.lookupStatusDocument(r, reference, accessCode, lang)
}
