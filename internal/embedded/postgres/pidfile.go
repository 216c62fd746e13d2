package postgres

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// removeStalePID removes postmaster.pid left by a server that was killed,
// so that a process which has since got its PID cannot block the start.
// It fails if a postmaster really runs on dataDir.
func removeStalePID(dataDir string) error {
	path := filepath.Join(dataDir, "postmaster.pid")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]))
	if err == nil && pid > 0 && postmasterRunsOn(pid, dataDir) {
		return fmt.Errorf("PostgreSQL already runs on this data dir (pid %d); stop it (pg_ctl -D %s stop) or use another data dir", pid, dataDir)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", path, err)
	}
	return nil
}

// postmasterRunsOn reports whether pid is a live postgres process whose
// working directory is dataDir (a postmaster changes into its data dir).
func postmasterRunsOn(pid int, dataDir string) bool {
	if !alive(pid) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return true // cannot tell: assume it is one
	}
	if !strings.Contains(string(cmdline), "postgres") && !strings.Contains(string(cmdline), "postmaster") {
		return false
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return true
	}
	want, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		want = dataDir
	}
	return cwd == want
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// sweepTempClusters removes the directories of temporary clusters whose
// owning process is gone (killed before it could clean up). Their servers
// got SIGINT when the owner died; one still running is left alone.
func sweepTempClusters() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempPrefix+"*-*"))
	for _, dir := range dirs {
		rest := strings.TrimPrefix(filepath.Base(dir), tempPrefix)
		pid, err := strconv.Atoi(rest[:max(strings.IndexByte(rest, '-'), 0)])
		if err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
		if err == nil {
			if pm, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0])); err == nil && alive(pm) {
				continue
			}
		}
		_ = os.RemoveAll(dir)
	}
}
