package gcdefaults

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// GOGC is the collector's target percentage the binary sets when the
// environment has no GOGC. The runtime's default is 100.
const GOGC = 200

// MemoryLimitShare is the share of the memory available to the process
// (its cgroup's limit, else the machine's memory) the binary sets as soft
// memory limit when the environment has no GOMEMLIMIT. With a GOGC above
// 100 the heap may grow further between collections; the limit makes the
// collector work harder before the process comes near its cgroup's limit.
const MemoryLimitShare = 0.5

// Applied says what Apply set; empty fields were left as the environment
// (or the runtime's default) had them.
type Applied struct {
	GOGC        int   // 0: not set by Apply
	MemoryLimit int64 // bytes; 0: not set by Apply
}

// Apply sets GOGC and the memory limit to the binary's defaults where
// getenv (os.Getenv) reports the variable unset or empty. A value the
// environment gives is left to the runtime, which has read it at start.
func Apply(getenv func(string) string) (Applied, error) {
	var a Applied
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GOGC)
		a.GOGC = GOGC
	}
	if getenv("GOMEMLIMIT") == "" {
		avail, err := availableMemory()
		if err != nil {
			return a, fmt.Errorf("memory limit: %w (set GOMEMLIMIT, e.g. GOMEMLIMIT=2GiB, to skip this)", err)
		}
		a.MemoryLimit = int64(float64(avail) * MemoryLimitShare)
		debug.SetMemoryLimit(a.MemoryLimit)
	}
	return a, nil
}

// availableMemory is the cgroup v2 memory limit of the process, else the
// machine's total memory.
func availableMemory() (int64, error) {
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		s := strings.TrimSpace(string(b))
		if s != "max" {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
				return n, nil
			}
		}
	}
	return memTotal()
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read /proc/meminfo: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo: MemTotal %q: %w", f[1], err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no MemTotal line")
}
