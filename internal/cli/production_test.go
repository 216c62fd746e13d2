package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/definitions/procedures"
	"github.com/amtsweg/amtsweg/internal/auth/devissuer"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/plugins/bundled"
	"github.com/amtsweg/amtsweg/store"
)

func TestMain(m *testing.M) {
	// definitions validate starts the bundled plugins as "<executable>
	// plugin serve NAME", as the worker does; in these tests the
	// executable is the test binary, which serves them like amtsweg.
	if len(os.Args) == 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		if err := bundled.Serve(os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
	testenv.Main(m)
}

// lockedBuffer collects a process's output for the failure message.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProductionShape runs amtsweg worker, intake, projector and api as four
// separate processes of the real binary, configured only through
// TEMPORAL_ADDRESS, KAFKA_BROKERS, DATABASE_URL and OIDC_ISSUER, against
// Temporal, Kafka and PostgreSQL servers that are not theirs; then drives an
// application through them and stops them with SIGTERM.
func TestProductionShape(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "amtsweg")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/amtsweg")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx := context.Background()
	dbURL := testenv.Postgres(t)
	temporalAddr, namespace := testenv.Temporal(t)
	brokers := testenv.Kafka(t)
	if err := kafkabus.EnsureTopics(ctx, brokers, devstack.Topics...); err != nil {
		t.Fatal(err)
	}
	// The clerks' OIDC provider, outside Amtsweg.
	issuer := httptest.NewUnstartedServer(nil)
	issuer.Start()
	defer issuer.Close()
	iss, err := devissuer.Open(devissuer.Config{DataDir: t.TempDir(), Issuer: issuer.URL + "/realm"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	iss.Mount(mux)
	issuer.Config.Handler = mux

	// Operators apply the schema once per release.
	run(t, bin, []string{"DATABASE_URL=" + dbURL}, "migrate")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{
		"TEMPORAL_ADDRESS=" + temporalAddr,
		"TEMPORAL_NAMESPACE=" + namespace,
		"KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"DATABASE_URL=" + dbURL,
		"OIDC_ISSUER=" + iss.URL(),
		fmt.Sprintf("AMTSWEG_LISTEN=127.0.0.1:%d", port),
		"AMTSWEG_PLUGINS=" + t.TempDir(),
		"AMTSWEG_DATA_DIR=" + t.TempDir(),
		"AMTSWEG_NOTIFY_TRANSPORT=file",
		"AMTSWEG_NOTIFY_FROM=Test <test@amtsweg.invalid>",
	}
	// Without the master key the processes that seal and open procedure
	// events refuse to start, and say what to set.
	for _, name := range []string{"worker", "projector"} {
		cmd := exec.Command(bin, name)
		cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AMTSWEG_MASTER_KEY=") }), env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "set AMTSWEG_MASTER_KEY to 32 random bytes in base64") {
			t.Errorf("amtsweg %s without a master key: %v\n%s", name, err, out)
		}
	}
	env = append(env, "AMTSWEG_MASTER_KEY="+base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	var procs []*exec.Cmd
	outputs := map[string]*lockedBuffer{}
	opsURL := map[string]string{} // each process's operations endpoints
	for _, name := range []string{"worker", "intake", "projector", "api"} {
		cmd := exec.Command(bin, name)
		addr := freeAddr(t)
		opsURL[name] = "http://" + addr
		cmd.Env = append(append(os.Environ(), env...), "AMTSWEG_METRICS_LISTEN="+addr)
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
		outputs[name] = out
	}
	failed := true
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for i, p := range procs {
			done := make(chan error, 1)
			go func() { done <- p.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s exited with %v after SIGTERM", p.Args[1], err)
					failed = true
				}
			case <-time.After(30 * time.Second):
				_ = p.Process.Kill()
				t.Errorf("%s did not stop within 30 s of SIGTERM", procs[i].Args[1])
				failed = true
			}
		}
		if failed {
			for name, out := range outputs {
				t.Logf("--- %s output:\n%s", name, out.String())
			}
		}
	}()

	// The designer deploys once the worker has published its plugin catalog.
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	src, err := procedures.FS.ReadFile("anwohnerparken.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dep := &registry.Deployer{Store: st}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err = dep.Deploy(ctx, "anwohnerparken.yaml", src, "test")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deploy (the worker's catalog never appeared?): %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	rc := e2e.Submit(t, brokers, e2e.ReadSubmission(t, "../../examples/anwohnerparken.json"))
	// Wait for the projection first: the status API counts lookups of a
	// reference it does not know yet as failed attempts (docs/security.md).
	deadline = time.Now().Add(60 * time.Second)
	for {
		if _, err := st.ApplicationStatus(ctx, rc.Reference); err == nil {
			break
		} else if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("the application never reached the projections through the four processes: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		req, _ := http.NewRequest(http.MethodGet, apiURL+"/api/v1/status/"+rc.Reference, nil)
		req.Header.Set("X-Access-Code", rc.AccessCode)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"in-review"`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the application never reached the clerk's review through the four processes (last error %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Every process answers its operations endpoints: alive, ready with
	// the checks of what it needs, and metrics an operator scales and
	// alerts on (deploy/grafana, deploy/kubernetes).
	wantChecks := map[string][]string{
		"worker":    {"kafka", "postgres", "temporal"},
		"intake":    {"kafka", "postgres", "temporal"},
		"projector": {"kafka", "postgres"},
		"api":       {"postgres", "temporal"},
	}
	wantMetrics := map[string][]string{
		"worker":    {"temporal_workflow_task_execution_latency", "temporal_workflow_task_schedule_to_start_latency", "amtsweg_plugin_calls_total"},
		"intake":    {"amtsweg_kafka_consumer_lag"},
		"projector": {"amtsweg_kafka_consumer_lag", "amtsweg_projection_lag_seconds"},
		"api":       {"amtsweg_http_requests_total"},
	}
	for name, base := range opsURL {
		if code, body := get(t, base+"/livez"); code != http.StatusOK {
			t.Errorf("%s /livez: %d %s", name, code, body)
		}
		code, body := get(t, base+"/readyz")
		var ready struct {
			Process string
			Status  string
			Checks  map[string]string
		}
		if err := json.Unmarshal([]byte(body), &ready); err != nil || code != http.StatusOK || ready.Status != "ready" || ready.Process != name {
			t.Errorf("%s /readyz: %d %s (%v)", name, code, body, err)
		}
		var checks []string
		for c, v := range ready.Checks {
			if v == "ok" {
				checks = append(checks, c)
			}
		}
		sort.Strings(checks)
		if fmt.Sprint(checks) != fmt.Sprint(wantChecks[name]) {
			t.Errorf("%s /readyz checks %v passed, want %v", name, checks, wantChecks[name])
		}
		_, metrics := get(t, base+"/metrics")
		for _, m := range wantMetrics[name] {
			if !strings.Contains(metrics, "\n"+m) {
				t.Errorf("%s /metrics has no %s", name, m)
			}
		}
	}
	failed = t.Failed()
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func run(t *testing.T, bin string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("amtsweg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
