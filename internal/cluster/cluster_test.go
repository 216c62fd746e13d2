package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	sdkclient "go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/amtsweg/amtsweg/definitions/procedures"
	"github.com/amtsweg/amtsweg/internal/cluster"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// The tests of this package share one cluster (starting it costs about
// 20 s on two cores): PostgreSQL, the Temporal process on PostgreSQL, three
// Kafka brokers, and two workers, intakes, projectors and APIs. Each test
// counts only the applications it submitted itself.
var (
	shared    *cluster.Cluster
	sharedErr error
	once      sync.Once
	workdir   string
)

func TestMain(m *testing.M) {
	code := run(m)
	os.Exit(code)
}

func run(m *testing.M) int {
	var err error
	workdir, err = os.MkdirTemp("", "amtsweg-cluster-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The postgres user of a private cluster (when the tests run as root)
	// must reach the data dir.
	_ = os.Chmod(workdir, 0o755)
	defer os.RemoveAll(workdir)
	code := m.Run()
	if shared != nil {
		if err := shared.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close cluster:", err)
		}
	}
	return code
}

// startCluster builds the dev binary and starts the shared cluster once,
// with the bundled anwohnerparken procedure deployed.
func startCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	once.Do(func() {
		bin := filepath.Join(workdir, "amtsweg")
		build := exec.Command("go", "build", "-tags", "dev", "-o", bin, "../../cmd/amtsweg")
		if out, err := build.CombinedOutput(); err != nil {
			sharedErr = fmt.Errorf("go build -tags dev: %v\n%s", err, out)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		shared, sharedErr = cluster.Start(ctx, cluster.Options{
			Binary:  bin,
			DataDir: filepath.Join(workdir, "data"),
			Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if sharedErr != nil {
			return
		}
		sharedErr = deploy(ctx, shared)
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// deploy deploys anwohnerparken once a worker has published its plugin
// catalog.
func deploy(ctx context.Context, c *cluster.Cluster) error {
	st, err := store.Open(ctx, c.DatabaseURL())
	if err != nil {
		return err
	}
	defer st.Close()
	src, err := procedures.FS.ReadFile("anwohnerparken.yaml")
	if err != nil {
		return err
	}
	dep := &registry.Deployer{Store: st}
	for {
		_, err := dep.Deploy(ctx, "anwohnerparken.yaml", src, "cluster test")
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deploy anwohnerparken (the workers' catalog never appeared?): %w", err)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// dumpOnFailure logs the output of every process if the test failed.
func dumpOnFailure(t *testing.T, c *cluster.Cluster) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, role := range []string{cluster.RoleTemporal, cluster.RoleKafka, cluster.RoleWorker, cluster.RoleIntake, cluster.RoleProjector, cluster.RoleAPI} {
			for _, p := range c.Processes(role) {
				out := p.Output()
				if len(out) > 6000 {
					out = out[len(out)-6000:]
				}
				t.Logf("--- %s (running %v):\n%s", p.Name(), p.Running(), out)
			}
		}
	})
}

func submit(t *testing.T, c *cluster.Cluster, n int) []string {
	t.Helper()
	sub := e2e.ReadSubmission(t, "../../examples/anwohnerparken.json")
	refs := make([]string, n)
	for i := range refs {
		refs[i] = e2e.Submit(t, c.KafkaBrokers(), sub).Reference
	}
	return refs
}

// awaitMilestone waits until every application is projected at milestone.
func awaitMilestone(t *testing.T, c *cluster.Cluster, refs []string, milestone string, wait time.Duration) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, c.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(wait)
	for _, ref := range refs {
		for {
			s, err := st.ApplicationStatus(ctx, ref)
			if err == nil && s.Milestone != nil && s.Milestone.ID == milestone {
				break
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("application %s not at milestone %s within %s (last: %+v, %v)", ref, milestone, wait, s, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func queryInt(t *testing.T, c *cluster.Cluster, sql string, args ...any) int {
	t.Helper()
	return storetest.QueryInt(t, c.DatabaseURL(), sql, args...)
}

// workflowRuns counts the workflow executions of an application in
// Temporal's visibility (PostgreSQL): one means started exactly once.
func workflowRuns(t *testing.T, tc sdkclient.Client, ref string) int {
	t.Helper()
	var n int
	var token []byte
	for {
		resp, err := tc.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", contract.WorkflowID(ref)), NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		n += len(resp.Executions)
		if token = resp.NextPageToken; len(token) == 0 {
			return n
		}
	}
}

func temporalClient(t *testing.T, c *cluster.Cluster) sdkclient.Client {
	t.Helper()
	tc, err := sdkclient.Dial(sdkclient.Options{HostPort: c.TemporalAddress(), Namespace: c.Namespace(),
		Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	return tc
}

// call sends an API request with a bearer token.
func call(t *testing.T, base, token, method, path, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, base, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type task struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Assignee    string `json:"assignee"`
	CompletedBy string `json:"completedBy"`
}

// openTask waits for the application's open task in the worklist of api.
func openTask(t *testing.T, api, token, ref string) task {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, body := call(t, api, token, http.MethodGet, "/api/v1/tasks?reference="+ref, "")
		var l struct{ Tasks []task }
		if code == http.StatusOK && json.Unmarshal([]byte(body), &l) == nil {
			for _, tk := range l.Tasks {
				if tk.Status == "open" {
					return tk
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no open task for %s in the worklist of %s (last %d %s)", ref, api, code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// decide claims and completes the application's task as clerk through
// claimAPI and completeAPI, retrying while the procedure is not reachable
// (e.g. right after a Temporal restart).
func decide(t *testing.T, claimAPI, completeAPI, token, ref string) {
	t.Helper()
	tk := openTask(t, claimAPI, token, ref)
	deadline := time.Now().Add(90 * time.Second)
	for _, step := range []struct{ api, action, body string }{{claimAPI, "claim", ""}, {completeAPI, "complete", `{"data":{"approved":true}}`}} {
		for {
			code, body := call(t, step.api, token, http.MethodPost, "/api/v1/tasks/"+tk.ID+"/"+step.action, step.body)
			if code == http.StatusOK {
				break
			}
			if code < 500 || time.Now().After(deadline) {
				t.Fatalf("%s task %s of %s: %d %s", step.action, tk.ID, ref, code, body)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}
