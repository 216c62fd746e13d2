package suite

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Machine describes where the suite ran.
type Machine struct {
	CPUs        int    `json:"cpus"`
	MemoryBytes int64  `json:"memoryBytes"`
	CPUModel    string `json:"cpuModel,omitempty"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	GoVersion   string `json:"goVersion"`
	Kernel      string `json:"kernel,omitempty"`
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()}
	if v, ok := procField("/proc/meminfo", "MemTotal:"); ok {
		m.MemoryBytes = v * 1024
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// loadAverage is the 1, 5 and 15 minute load average as uptime prints it;
// other work on a shared machine shows here.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// procField reads a "Key: <number> kB" line of a /proc file.
func procField(path, key string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, key); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				return 0, false
			}
			v, err := strconv.ParseInt(fields[0], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// rssBytes is the resident set size of this process.
func rssBytes() int64 {
	v, _ := procField("/proc/self/status", "VmRSS:")
	return v * 1024
}

// cpuSeconds is the CPU time (user and system) this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// postgresCPUSeconds is the CPU time (user and system) the embedded
// PostgreSQL cluster in pgData has used: its postmaster's own and that of
// its exited children (cutime, cstime), plus its live children's (the
// backends, checkpointer, WAL writer, autovacuum). It returns -1 when the
// cluster is not one this machine's /proc shows (DATABASE_URL).
func postgresCPUSeconds(pgData string) float64 {
	b, err := os.ReadFile(filepath.Join(pgData, "postmaster.pid"))
	if err != nil {
		return -1
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return -1
	}
	ppid, ticks, ok := procTicks(pm, true)
	if !ok || ppid < 0 {
		return -1
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pm {
			continue
		}
		if parent, t, ok := procTicks(pid, false); ok && parent == pm {
			ticks += t
		}
	}
	return float64(ticks) / clockTicks
}

// procTicks reads a process's parent and its CPU ticks (utime+stime, and
// with children also cutime+cstime) from /proc/<pid>/stat.
func procTicks(pid int, children bool) (ppid int, ticks int64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may hold spaces: the fields
	// start after the last ')'. Then: state ppid ... utime(14) stime(15)
	// cutime(16) cstime(17), counted from pid as field 1.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	k := 2 // utime, stime
	if children {
		k = 4 // and cutime, cstime
	}
	for _, s := range f[11 : 11+k] {
		v, _ := strconv.ParseInt(s, 10, 64)
		ticks += v
	}
	return ppid, ticks, true
}
