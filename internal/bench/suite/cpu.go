package suite

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPUUse is the CPU time a measured run cost, by where it was spent.
type CPUUse struct {
	// Suite is the suite's own process: the whole stack but PostgreSQL
	// (API, workers, projector, embedded Temporal server and Kafka broker)
	// and, where the generator runs in-process, the load.
	Suite float64 `json:"suiteSeconds"`
	// Children are the suite's child processes (the plugins; a load
	// generator process is counted in Generator instead), live or exited.
	Children float64 `json:"childrenSeconds"`
	// PostgreSQL is the embedded cluster (postmaster and backends); -1
	// when it cannot be measured (an external DATABASE_URL).
	PostgreSQL float64 `json:"postgresSeconds"`
	// Generator is the load generator's own process, when it has one.
	Generator float64 `json:"generatorSeconds,omitempty"`
}

// System is the CPU time of the system under test: the suite's process,
// its plugin children and PostgreSQL (not the load generator).
func (c CPUUse) System() float64 { return c.Suite + c.Children + max(c.PostgreSQL, 0) }

// cpuSample is a point in time of the CPU counters behind CPUUse.
type cpuSample struct {
	self, children, postgres float64
}

// sampleCPU reads the counters: this process, its descendants (live from
// /proc, exited from RUSAGE_CHILDREN) except the PostgreSQL cluster's
// processes, and the cluster in pgData.
func sampleCPU(pgData string) cpuSample {
	s := cpuSample{self: cpuSeconds(), postgres: postgresCPUSeconds(pgData)}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err == nil {
		s.children = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	s.children += float64(descendantTicks(os.Getpid(), postmasterPID(pgData))) / clockTicks
	return s
}

// since is the CPU used between s0 and s.
func (s cpuSample) since(s0 cpuSample) CPUUse {
	u := CPUUse{Suite: s.self - s0.self, Children: max(s.children-s0.children, 0), PostgreSQL: -1}
	if s.postgres >= 0 && s0.postgres >= 0 {
		u.PostgreSQL = s.postgres - s0.postgres
	}
	return u
}

// postmasterPID is the PostgreSQL cluster's postmaster, or 0.
func postmasterPID(pgData string) int {
	b, err := os.ReadFile(pgData + "/postmaster.pid")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// descendantTicks sums utime+stime of the live descendants of root (not
// root itself), leaving out the subtree of skip (0: none).
func descendantTicks(root, skip int) int64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	ticks := map[int]int64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, t, ok := procTicks(pid, false); ok {
			parent[pid], ticks[pid] = pp, t
		}
	}
	return sumDescendants(parent, ticks, root, skip)
}

// sumDescendants adds the ticks of every process below root, pruning the
// subtree of skip.
func sumDescendants(parent map[int]int, ticks map[int]int64, root, skip int) int64 {
	var sum int64
	for pid, t := range ticks {
		for p, hops := pid, 0; p > 1 && hops < 64; hops++ {
			if p == skip {
				break
			}
			pp, ok := parent[p]
			if !ok {
				break
			}
			if pp == root && p != root {
				if pid != skip {
					sum += t
				}
				break
			}
			p = pp
		}
	}
	return sum
}
