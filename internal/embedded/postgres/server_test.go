package postgres_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/amtsweg/amtsweg/internal/embedded/postgres"
)

// reachableDir returns a new directory that the "postgres" user can reach
// when the tests run as root (t.TempDir is mode 0700).
func reachableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "amtsweg-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func query(ctx context.Context, t *testing.T, url, sql string, args ...any) []string {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func exec1(ctx context.Context, t *testing.T, url, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func postmasterPID(t *testing.T, dataDir string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(data), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 600 {
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("process %d still runs after 30s", pid)
}

// TestRestartKeepsData starts a cluster, writes, stops, restarts; kills
// the postmaster, restarts; and starts with a postmaster.pid naming a live
// process that is not a postmaster. The data is there every time.
func TestRestartKeepsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataDir := filepath.Join(reachableDir(t), "pg")

	srv, err := postgres.Start(ctx, postgres.Options{DataDir: dataDir})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer func() { srv.Stop() }()
	for range 2 { // idempotent
		if err := srv.CreateDatabase(ctx, "amtsweg"); err != nil {
			t.Fatalf("create database: %v", err)
		}
	}
	url := srv.URL("amtsweg")
	if want := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/amtsweg?sslmode=disable", srv.Port()); url != want {
		t.Errorf("URL = %s, want %s", url, want)
	}
	exec1(ctx, t, url, "CREATE TABLE antrag (az text PRIMARY KEY)")
	exec1(ctx, t, url, "INSERT INTO antrag VALUES ('BA-2026-0001')")
	if got := query(ctx, t, url, "SELECT lower('ÄÖÜ')"); got[0] != "äöü" {
		t.Errorf("lower('ÄÖÜ') = %q: the cluster's locale does not know umlauts", got[0])
	}

	// A second server on the same data dir is refused.
	if _, err := postgres.Start(ctx, postgres.Options{DataDir: dataDir}); err == nil || !strings.Contains(err.Error(), "already runs") {
		t.Fatalf("second start on a running data dir: got %v, want 'already runs'", err)
	}

	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	srv, err = postgres.Start(ctx, postgres.Options{DataDir: dataDir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := query(ctx, t, srv.URL("amtsweg"), "SELECT az FROM antrag"); len(got) != 1 || got[0] != "BA-2026-0001" {
		t.Fatalf("after restart: %v", got)
	}

	// Killed hard: the next start recovers.
	exec1(ctx, t, srv.URL("amtsweg"), "INSERT INTO antrag VALUES ('BA-2026-0002')")
	pid := postmasterPID(t, dataDir)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop after kill: %v", err)
	}

	// postmaster.pid now names a live process that is no postmaster.
	sleeper := exec.Command("sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	stale, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("postmaster.pid after kill: %v", err)
	}
	lines := strings.SplitN(string(stale), "\n", 2)
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(sleeper.Process.Pid)+"\n"+lines[1]), 0o600); err != nil {
		t.Fatal(err)
	}

	srv, err = postgres.Start(ctx, postgres.Options{DataDir: dataDir})
	if err != nil {
		t.Fatalf("start after kill with stale postmaster.pid: %v", err)
	}
	if got := query(ctx, t, srv.URL("amtsweg"), "SELECT az FROM antrag ORDER BY az"); strings.Join(got, ",") != "BA-2026-0001,BA-2026-0002" {
		t.Fatalf("after crash recovery: %v", got)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

func TestTemporaryClusterIsRemoved(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := postgres.Start(ctx, postgres.Options{NoSync: true})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer srv.Stop()
	if got := query(ctx, t, srv.URL("postgres"), "SHOW fsync"); got[0] != "off" {
		t.Errorf("fsync = %s with NoSync", got[0])
	}
	dir := srv.DataDir()
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data dir %s still there after Stop (%v)", dir, err)
	}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	given := "postgres://app@db.example:5432/amtsweg"
	url, srv, err := postgres.Resolve(ctx, given, postgres.Options{})
	if err != nil || srv != nil || url != given {
		t.Fatalf("Resolve with a URL: %q, %v, %v", url, srv, err)
	}
	url, srv, err = postgres.Resolve(ctx, "", postgres.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Resolve without a URL: %v", err)
	}
	defer srv.Stop()
	if got := query(ctx, t, url, "SELECT current_database()"); got[0] != "amtsweg" {
		t.Fatalf("current_database() = %v", got)
	}
}

// TestDataDirUnder0700Parent starts a cluster for a data dir below a
// directory only its owner can traverse (mode 0700, like /root). As a normal user the cluster is in the data dir itself. As root
// the postgres user cannot reach it, so the cluster is placed under
// ClusterBase, owned by postgres, and the place is recorded in the data dir:
// a restart finds the same cluster and its data, and deleting the data dir
// starts afresh.
func TestDataDirUnder0700Parent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	requested := filepath.Join(parent, ".amtsweg", "postgres")
	base := filepath.Join(reachableDir(t), "clusters")
	opts := postgres.Options{DataDir: requested, ClusterBase: base, NoSync: true}

	s, err := postgres.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start under a 0700 parent: %v", err)
	}
	clusterDir := s.DataDir()
	exec1(ctx, t, s.URL("postgres"), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('yes')")
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	if os.Geteuid() != 0 {
		if clusterDir != requested {
			t.Fatalf("as a normal user the cluster must be in the data dir %s, is in %s", requested, clusterDir)
		}
	} else {
		if !strings.HasPrefix(clusterDir, base+string(filepath.Separator)) {
			t.Fatalf("as root the cluster must be placed under %s, is in %s", base, clusterDir)
		}
		fi, err := os.Stat(clusterDir)
		if err != nil {
			t.Fatal(err)
		}
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		if uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)); uid != pg.Uid || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: owner uid %s mode %v, want postgres (%s) and 0700", clusterDir, uid, fi.Mode().Perm(), pg.Uid)
		}
		loc, err := os.ReadFile(filepath.Join(requested, postgres.LocationFile))
		if err != nil || strings.TrimSpace(string(loc)) != clusterDir {
			t.Fatalf("%s: %q, %v; want the cluster's place %s", postgres.LocationFile, loc, err, clusterDir)
		}
	}

	// A restart finds the cluster and its data.
	s, err = postgres.Start(ctx, opts)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if s.DataDir() != clusterDir {
		t.Fatalf("restart placed the cluster in %s, first start in %s", s.DataDir(), clusterDir)
	}
	if got := query(ctx, t, s.URL("postgres"), "SELECT v FROM kept"); len(got) != 1 || got[0] != "yes" {
		t.Fatalf("after restart: kept = %v, want [yes]", got)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	// Deleting the data dir resets the cluster, wherever it lives.
	if err := os.RemoveAll(filepath.Join(parent, ".amtsweg")); err != nil {
		t.Fatal(err)
	}
	s, err = postgres.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start after deleting the data dir: %v", err)
	}
	defer s.Stop()
	if got := query(ctx, t, s.URL("postgres"), "SELECT count(*)::text FROM pg_tables WHERE tablename = 'kept'"); got[0] != "0" {
		t.Fatalf("after deleting the data dir the old table is still there")
	}
}

// TestServerDiesWithOwner starts a cluster in a child process, kills that
// process with SIGKILL and checks that the postmaster goes too.
func TestServerDiesWithOwner(t *testing.T) {
	if os.Getenv("AMTSWEG_PG_OWNER") == "1" {
		srv, err := postgres.Start(context.Background(), postgres.Options{NoSync: true})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("DATADIR", srv.DataDir())
		time.Sleep(5 * time.Minute)
		os.Exit(0)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithOwner$")
	cmd.Env = append(os.Environ(), "AMTSWEG_PG_OWNER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(out)
	var dataDir string
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "DATADIR "); ok {
			dataDir = d
			break
		}
		if strings.HasPrefix(sc.Text(), "ERROR") {
			t.Fatal(sc.Text())
		}
	}
	if dataDir == "" {
		t.Fatal("child did not start a cluster")
	}
	pid := postmasterPID(t, dataDir)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	waitGone(t, pid)

	// The next temporary cluster sweeps the dead owner's directory away.
	srv, err := postgres.Start(context.Background(), postgres.Options{NoSync: true})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	srv.Stop()
	if _, err := os.Stat(filepath.Dir(dataDir)); !os.IsNotExist(err) {
		t.Fatalf("directory %s of the killed owner is still there (%v)", filepath.Dir(dataDir), err)
	}
}
