package api

import "time"

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
