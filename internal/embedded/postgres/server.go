package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/amtsweg/amtsweg/internal/embedded/internal/freeport"
)

const (
	// Superuser is the cluster's superuser; it connects without password
	// (trust authentication, only from 127.0.0.1).
	Superuser = "postgres"
	// LogFile is where the server's output goes, relative to the data dir.
	LogFile = "log/amtsweg-postgres.log"

	// tempPrefix names the directories of temporary clusters
	// (Options.DataDir == ""): tempPrefix<pid>-<random>.
	tempPrefix = "amtsweg-pg-"
	// maxSocketPath is below the 107 bytes a Unix socket path may have.
	maxSocketPath = 100
)

// Options configure a private PostgreSQL cluster.
type Options struct {
	// DataDir is the cluster directory (PGDATA). It is created with
	// initdb when it holds no cluster yet. Empty means a temporary
	// cluster in a new directory under os.TempDir, removed by Stop.
	DataDir string
	// Port on 127.0.0.1. 0 picks a free port.
	Port int
	// Logger receives progress messages and, at Debug, the server's
	// output (which also goes to LogFile in the data dir). Default
	// slog.Default().
	Logger *slog.Logger
	// NoSync turns off fsync, synchronous_commit and full_page_writes:
	// much faster, but a crash of the machine can lose or corrupt data.
	// Only for throwaway clusters such as tests.
	NoSync bool
	// ClusterBase is where the cluster is placed when this process is
	// root and the postgres user cannot reach DataDir (a parent such as
	// /root is mode 0700); the place is recorded in DataDir/LocationFile
	// and DataDir() returns it. Default DefaultClusterBase.
	ClusterBase string
}

// Server is a running PostgreSQL cluster, a child process of this one.
// If this process dies, the server gets SIGINT (fast shutdown) from the
// kernel, so it never outlives its owner.
type Server struct {
	dataDir string
	port    int
	temp    string // directory to remove at Stop, for temporary clusters
	logger  *slog.Logger

	postgresBin string
	cmd         *exec.Cmd
	done        chan struct{} // closed when the process has exited
	waitErr     error
	out         *outputSink

	stopOnce sync.Once
	stopErr  error
}

// Start initialises the data dir if needed, starts the server and waits
// until it accepts connections. Starting again on the same data dir keeps
// its databases.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{logger: opts.Logger.With("component", "postgres"), port: opts.Port, done: make(chan struct{})}

	acct, err := serverAccount()
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}

	if opts.DataDir == "" {
		sweepTempClusters()
		s.temp, err = os.MkdirTemp("", tempPrefix+strconv.Itoa(os.Getpid())+"-")
		if err != nil {
			return nil, fmt.Errorf("start postgres: temporary data dir: %w", err)
		}
		if err := os.Chmod(s.temp, 0o755); err != nil {
			return nil, s.cleanupTemp(fmt.Errorf("start postgres: %w", err))
		}
		s.dataDir = filepath.Join(s.temp, "data")
	} else {
		requested, err := filepath.Abs(opts.DataDir)
		if err != nil {
			return nil, fmt.Errorf("start postgres: data dir %s: %w", opts.DataDir, err)
		}
		if s.dataDir, err = placeCluster(requested, opts.ClusterBase, acct, s.logger); err != nil {
			return nil, fmt.Errorf("start postgres for data dir %s: %w", requested, err)
		}
	}

	if err := s.prepare(ctx, acct, opts.NoSync); err != nil {
		return nil, s.cleanupTemp(fmt.Errorf("start postgres in %s: %w", s.dataDir, err))
	}
	if err := s.run(ctx, acct, opts.NoSync); err != nil {
		return nil, s.cleanupTemp(fmt.Errorf("start postgres in %s: %w", s.dataDir, err))
	}
	s.logger.Debug("postgres ready", "url", s.URL("postgres"), "data_dir", s.dataDir)
	return s, nil
}

// prepare runs initdb for a new data dir, or checks an existing one.
func (s *Server) prepare(ctx context.Context, acct *account, noSync bool) error {
	if err := acct.checkReachable(s.dataDir); err != nil {
		return err
	}
	wantMajor := 0
	if v, err := os.ReadFile(filepath.Join(s.dataDir, "PG_VERSION")); err == nil {
		if wantMajor, err = strconv.Atoi(strings.TrimSpace(string(v))); err != nil {
			return fmt.Errorf("PG_VERSION holds %q: not a PostgreSQL data dir?", v)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	bin, err := findBinaries(ctx, wantMajor)
	if err != nil {
		return err
	}
	s.postgresBin = bin.postgres

	if wantMajor != 0 { // existing cluster
		if !acct.owns(s.dataDir) {
			if err := acct.chownTree(s.dataDir); err != nil {
				return fmt.Errorf("give the data dir to user %s: %w", acct.name, err)
			}
		}
		return removeStalePID(s.dataDir)
	}

	if entries, err := os.ReadDir(s.dataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("the directory is not empty and holds no PostgreSQL cluster (no PG_VERSION); choose an empty or new directory")
	}
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return err
	}
	if err := acct.chownTree(s.dataDir); err != nil {
		return fmt.Errorf("give the data dir to user %s: %w", acct.name, err)
	}
	level := slog.LevelInfo
	if s.temp != "" {
		level = slog.LevelDebug
	}
	s.logger.Log(ctx, level, "creating PostgreSQL cluster", "data_dir", s.dataDir, "version", bin.major)
	// C.UTF-8 gives correct upper/lower case for umlauts; plain C is the
	// fallback where the C.UTF-8 locale is missing.
	var out []byte
	for _, locale := range []string{"C.UTF-8", "C"} {
		args := []string{"-D", s.dataDir, "-U", Superuser, "--auth=trust", "--encoding=UTF8", "--locale=" + locale, "--no-instructions"}
		if noSync {
			args = append(args, "--no-sync")
		}
		cmd := exec.CommandContext(ctx, bin.initdb, args...)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: acct.credential()}
		if out, err = cmd.CombinedOutput(); err == nil {
			return nil
		}
		if !strings.Contains(string(out), "locale") {
			break
		}
	}
	return fmt.Errorf("initdb: %w\n%s", err, strings.TrimSpace(string(out)))
}

// run starts the postmaster as a child process and waits until it
// accepts connections.
func (s *Server) run(ctx context.Context, acct *account, noSync bool) error {
	if s.port == 0 {
		var err error
		if s.port, err = freeport.Get("127.0.0.1"); err != nil {
			return err
		}
	}
	socketDir := s.dataDir
	if len(socketDir)+len("/.s.PGSQL.65535") > maxSocketPath {
		socketDir = "" // too long for a socket path: TCP only
	}
	args := []string{
		"-D", s.dataDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port=" + strconv.Itoa(s.port),
		"-c", "unix_socket_directories=" + socketDir,
		"-c", "logging_collector=off",
	}
	if noSync {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}

	out, err := newOutputSink(filepath.Join(s.dataDir, LogFile), acct, s.logger)
	if err != nil {
		return err
	}
	s.out = out

	s.cmd = exec.Command(s.postgresBin, args...)
	s.cmd.Dir = "/"
	s.cmd.Stdout = out
	s.cmd.Stderr = out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: acct.credential(),
		// Own process group: a Ctrl-C in the terminal reaches us, and we
		// stop the server in order.
		Setpgid: true,
		// If we die, the kernel tells the server to shut down (fast).
		Pdeathsig: syscall.SIGINT,
	}

	// Pdeathsig fires when the thread that started the child ends, not the
	// process. Start and wait on a locked thread that lives as long as
	// the child does.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := s.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.waitErr = s.cmd.Wait()
		out.Close()
		close(s.done)
	}()
	if err := <-started; err != nil {
		out.Close()
		return fmt.Errorf("run %s: %w", s.postgresBin, err)
	}

	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return err
	}
	return nil
}

// waitReady polls until the server accepts a connection.
func (s *Server) waitReady(ctx context.Context) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.URL("postgres"))
		cancel()
		if err == nil {
			_ = conn.Close(ctx)
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited (%v) before accepting connections; its last output:\n%s", s.waitErr, s.out.Tail())
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections on port %d in time (%v); last error: %v; its last output:\n%s",
				s.port, ctx.Err(), err, s.out.Tail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// URL is the connection URL of database db, e.g.
// postgres://postgres@127.0.0.1:5433/amtsweg?sslmode=disable.
func (s *Server) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     "127.0.0.1:" + strconv.Itoa(s.port),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port is the TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// DataDir is the cluster directory: Options.DataDir, or where the cluster
// was placed because the postgres user cannot reach that (see
// Options.ClusterBase).
func (s *Server) DataDir() string { return s.dataDir }

// CreateDatabase creates database name unless it exists.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	return CreateDatabase(ctx, s.URL("postgres"), name)
}

// Stop shuts the server down (fast shutdown: open transactions are rolled
// back, data is checkpointed) and, for a temporary cluster, removes its
// directory. Safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.stopErr = s.stop()
		if s.temp != "" {
			if err := os.RemoveAll(s.temp); err != nil && s.stopErr == nil {
				s.stopErr = fmt.Errorf("stop postgres: remove %s: %w", s.temp, err)
			}
		}
	})
	return s.stopErr
}

func (s *Server) stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	// SIGINT is PostgreSQL's fast shutdown (pg_ctl stop -m fast); SIGQUIT
	// its immediate shutdown, which needs crash recovery at next start.
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, 60 * time.Second}, {syscall.SIGQUIT, 10 * time.Second}, {syscall.SIGKILL, 10 * time.Second}} {
		if err := s.cmd.Process.Signal(step.sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("stop postgres: signal %v: %w", step.sig, err)
		}
		select {
		case <-s.done:
			if step.sig != syscall.SIGINT {
				s.logger.Warn("postgres did not shut down in time and was stopped hard", "signal", step.sig.String())
			}
			return nil
		case <-time.After(step.wait):
		}
	}
	return fmt.Errorf("stop postgres: pid %d does not exit", s.cmd.Process.Pid)
}

// cleanupTemp removes the directory of a temporary cluster that failed
// to start and returns err.
func (s *Server) cleanupTemp(err error) error {
	if s.temp != "" {
		_ = os.RemoveAll(s.temp)
	}
	return err
}

// CreateDatabase connects to adminURL (a database of the server, usually
// "postgres", as a user allowed to create databases) and creates database
// name unless it exists.
func CreateDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("create database %s: connect: %w", name, err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Resolve returns the database URL to use: databaseURL when it is set
// (an existing server, e.g. from DATABASE_URL), otherwise the URL of
// database "amtsweg" on a private cluster it starts with opts. The
// returned Server is nil for an existing server; otherwise the caller
// stops it.
func Resolve(ctx context.Context, databaseURL string, opts Options) (string, *Server, error) {
	if databaseURL != "" {
		return databaseURL, nil, nil
	}
	srv, err := Start(ctx, opts)
	if err != nil {
		return "", nil, err
	}
	if err := srv.CreateDatabase(ctx, "amtsweg"); err != nil {
		_ = srv.Stop()
		return "", nil, err
	}
	return srv.URL("amtsweg"), srv, nil
}

// outputSink takes the server's output: it appends it to the log file,
// keeps the last lines for error messages and logs each line at Debug.
type outputSink struct {
	mu     sync.Mutex
	file   *os.File
	logger *slog.Logger
	tail   []string
	part   []byte
}

const tailLines = 30

func newOutputSink(path string, acct *account, logger *slog.Logger) (*outputSink, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := acct.chownTree(filepath.Dir(path)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &outputSink{file: f, logger: logger}, nil
}

var _ io.Writer = (*outputSink)(nil)

func (o *outputSink) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.file != nil {
		_, _ = o.file.Write(p)
	}
	o.part = append(o.part, p...)
	for {
		i := bytes.IndexByte(o.part, '\n')
		if i < 0 {
			break
		}
		line := string(o.part[:i])
		o.part = o.part[i+1:]
		o.logger.Debug(line)
		o.tail = append(o.tail, line)
		if len(o.tail) > tailLines {
			o.tail = o.tail[1:]
		}
	}
	return len(p), nil
}

// Tail returns the last lines of output.
func (o *outputSink) Tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(append(o.tail, string(o.part)), "\n")
}

// Close closes the log file.
func (o *outputSink) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.file != nil {
		o.file.Close()
		o.file = nil
	}
}
