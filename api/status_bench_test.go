package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// BenchmarkStatusLookup compares the status lookup as the former code did
// it (a row of columns, JSON decoded into Go values, the response encoded
// by encoding/json) with the document PostgreSQL builds, interleaved
// round by round (former, document, former, …) so that the machine's load
// hits both alike. Each lookup includes the access check. Applications
// have 10 public timeline entries, every tenth an open request, as in the
// bench suite's status phase. Besides ns/op (lookups run in parallel, so
// this is the inverse of throughput at saturation) it reports the CPU time
// of this process per lookup (cpu-ns/op) and that of the
// database's server processes (pg-cpu-ns/op).
//
//	go test ./api -run '^$' -bench StatusLookup -benchtime 10000x
func BenchmarkStatusLookup(b *testing.B) {
	const apps, rounds = 500, 3
	s, url, refs := seedStatusBench(b, apps)
	srv := api.New(api.Config{Store: s, ClientAddress: func(*http.Request) string { return "bench" }})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/status/x", nil)
	paths := []struct {
		name   string
		lookup func(ref string) ([]byte, error)
	}{
		{"former", func(ref string) ([]byte, error) {
			resp, err := srv.LookupStatus(req, ref, storetest.AccessCode, "de")
			if err != nil {
				return nil, err
			}
			body, err := json.Marshal(resp)
			return append(body, '\n'), err
		}},
		{"document", func(ref string) ([]byte, error) {
			return api.StatusDocumentBody(srv, req, ref, storetest.AccessCode, "de")
		}},
	}
	for round := 1; round <= rounds; round++ {
		for _, p := range paths {
			b.Run(fmt.Sprintf("%s/round-%d", p.name, round), func(b *testing.B) {
				b.ReportAllocs()
				cpu0, pg0 := processCPU(), storetest.ServerCPU(b, url)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := p.lookup(refs[rand.IntN(apps)]); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64((storetest.ServerCPU(b, url)-pg0).Nanoseconds())/float64(b.N), "pg-cpu-ns/op")
			})
		}
	}
}

// seedStatusBench applies apps applications with 10 public timeline
// entries each and an open request on every tenth.
func seedStatusBench(b *testing.B, apps int) (*store.Store, string, []string) {
	s, url := storetest.New(b)
	refs := make([]string, apps)
	var evs []*events.ProcedureEvent
	for i := range refs {
		refs[i] = fmt.Sprintf("BA-2025-%06d", i)
		evs = append(evs, storetest.Received(refs[i], 1), storetest.Milestone(refs[i], 2, "eingegangen", "Eingegangen", "Received"))
		for k := range 10 {
			evs = append(evs, storetest.Timeline(refs[i], int64(3+k), fmt.Sprintf("Schritt %d Ihres Antrags ist erledigt.", k), false))
		}
		if i%10 == 0 {
			evs = append(evs, storetest.Request(refs[i], 13, events.KindRequestOpened, "lageplan", "open", "2025-02-10"))
		}
	}
	if _, err := s.ApplyEvents(context.Background(), evs); err != nil {
		b.Fatal(err)
	}
	return s, url, refs
}

// BenchmarkStatusPoolSize loads the status lookup from 32 goroutines
// through API pools of 4 (pgxpool's default on two cores), 8 and 16
// connections, interleaved round by round: the figure for the API pool's
// default (stack.DefaultAPIPool).
//
//	go test ./api -run '^$' -bench StatusPoolSize -benchtime 10000x
func BenchmarkStatusPoolSize(b *testing.B) {
	const apps, rounds = 500, 3
	ctx := context.Background()
	_, url, refs := seedStatusBench(b, apps)
	sizes := []int{4, 8, 16}
	servers := make([]*api.Server, len(sizes))
	for i, n := range sizes {
		st, err := store.Open(ctx, url, store.MaxConns(n))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		servers[i] = api.New(api.Config{Store: st, ClientAddress: func(*http.Request) string { return "bench" }})
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/status/x", nil)
	for round := 1; round <= rounds; round++ {
		for i, n := range sizes {
			b.Run(fmt.Sprintf("pool-%d/round-%d", n, round), func(b *testing.B) {
				b.SetParallelism(16)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := api.StatusDocumentBody(servers[i], req, refs[rand.IntN(apps)], storetest.AccessCode, "de"); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
