package failover

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"

	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/devstack"
	embkafka "github.com/amtsweg/amtsweg/internal/embedded/kafka"
	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/plugins/notify"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
	"github.com/amtsweg/amtsweg/workers/intake"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// procedureKey is the key of testdata/fee-notice.yaml.
const procedureKey = "failover-gebuehr"

// masterKey is the test's AMTSWEG_MASTER_KEY (32 bytes, base64).
var masterKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

// envInt reads a positive count from the environment, or def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// soak reports whether the longer soak variant was asked for.
func soak() bool { return os.Getenv("AMTSWEG_SOAK") == "1" }

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

// proc is one running amtsweg process.
type proc struct {
	name   string // e.g. "worker-a"
	cmd    *exec.Cmd
	out    *lockedBuffer
	done   chan struct{}
	err    error // the exit status, once done is closed
	killed bool
}

// cluster is the production shape on one box: PostgreSQL, a Kafka broker of
// its own and the shared Temporal server of the test binary, with amtsweg
// processes of the real binary started and killed by the test.
type cluster struct {
	t        *testing.T
	bin      string
	dbURL    string
	brokers  []string
	hostPort string
	ns       string
	// dataDir is the workers' shared data volume (as the ReadWriteMany
	// volume of deploy/kubernetes): the plugins' e-file store, notify
	// ledger and outbox live under dataDir/plugins.
	dataDir string
	env     []string
	st      *store.Store
	tc      client.Client
	mu      sync.Mutex
	procs   []*proc
}

// newCluster builds the binary, starts the services, applies the schema and
// returns a cluster without amtsweg processes yet.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	ctx := context.Background()
	c := &cluster{t: t, bin: filepath.Join(t.TempDir(), "amtsweg"), dataDir: t.TempDir()}
	build := exec.Command("go", "build", "-o", c.bin, "../../cmd/amtsweg")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c.dbURL = testenv.Postgres(t)
	c.hostPort, c.ns = testenv.Temporal(t)
	// A broker of the test's own: the topics' names are the product's, and
	// the rebuild reads a whole topic, so no other test may write to it.
	broker, err := embkafka.Start(ctx, embkafka.Options{Addr: "127.0.0.1:0", Topics: topics()})
	if err != nil {
		t.Fatalf("start Kafka: %v", err)
	}
	t.Cleanup(func() { _ = broker.Close() })
	c.brokers = broker.Brokers()
	c.env = []string{
		"TEMPORAL_ADDRESS=" + c.hostPort,
		"TEMPORAL_NAMESPACE=" + c.ns,
		"KAFKA_BROKERS=" + strings.Join(c.brokers, ","),
		"DATABASE_URL=" + c.dbURL,
		"AMTSWEG_PLUGINS=" + t.TempDir(),
		"AMTSWEG_DATA_DIR=" + c.dataDir,
		"AMTSWEG_NOTIFY_TRANSPORT=file",
		"AMTSWEG_NOTIFY_FROM=Stadt Erfurt <gebuehren@erfurt.invalid>",
		"AMTSWEG_MASTER_KEY=" + masterKey,
	}
	c.run("migrate")
	if c.st, err = store.Open(ctx, c.dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.st.Close)
	if c.tc, err = client.Dial(client.Options{HostPort: c.hostPort, Namespace: c.ns}); err != nil {
		t.Fatalf("connect to Temporal: %v", err)
	}
	t.Cleanup(c.tc.Close)
	t.Cleanup(c.stopAll)
	return c
}

// topics are amtsweg dev's topics, with 8 partitions for the intake: each
// of the 4 consumers of each of two intake processes then holds one, so a
// killed intake always had work (with 4 partitions, one process could sit
// idle in the group).
func topics() []kafkabus.TopicSpec {
	out := append([]kafkabus.TopicSpec(nil), devstack.Topics...)
	for i := range out {
		if out[i].Name == events.TopicIntake {
			out[i].Partitions = 8
		}
	}
	return out
}

// run runs an amtsweg command to its end.
func (c *cluster) run(args ...string) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), c.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("amtsweg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// start starts `amtsweg <kind>` as the process name, with operations
// endpoints on a port of its own.
func (c *cluster) start(kind, name string) *proc {
	c.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	ops := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(c.bin, kind)
	cmd.Env = append(append(os.Environ(), c.env...), "AMTSWEG_METRICS_LISTEN="+ops)
	p := &proc{name: name, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p
}

// kill SIGKILLs p (and the plugin processes it started, its process
// group is not its own: they notice their parent is gone and exit).
func (c *cluster) kill(p *proc) {
	c.t.Helper()
	p.killed = true
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatalf("SIGKILL %s: %v", p.name, err)
	}
	<-p.done
	c.t.Logf("%s SIGKILLed", p.name)
}

// stop stops p with SIGTERM, as an orchestrator does, and reports an
// unclean exit.
func (c *cluster) stop(p *proc) {
	c.t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			c.t.Errorf("%s exited with %v after SIGTERM\n%s", p.name, p.err, p.out.String())
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		c.t.Errorf("%s did not stop within 30 s of SIGTERM", p.name)
	}
}

// stopAll stops every process still running and, if the test failed,
// logs their output.
func (c *cluster) stopAll() {
	c.mu.Lock()
	procs := append([]*proc(nil), c.procs...)
	c.mu.Unlock()
	for _, p := range procs {
		c.stop(p)
	}
	if c.t.Failed() {
		for _, p := range procs {
			out := p.out.String()
			if len(out) > 20000 {
				out = "...\n" + out[len(out)-20000:]
			}
			c.t.Logf("--- output of %s:\n%s", p.name, out)
		}
	}
}

// checkRunning fails the test if a process that was not killed has exited.
func (c *cluster) checkRunning() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		select {
		case <-p.done:
			if !p.killed {
				c.t.Fatalf("%s exited on its own: %v\n%s", p.name, p.err, p.out.String())
			}
		default:
		}
	}
}

// retriedPluginCalls counts, in the processes' logs, plugin calls on an
// attempt after the first (the plugins log "attempt" with each call they
// report), as evidence that the kill left calls to be retried.
func (c *cluster) retriedPluginCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.procs {
		n += len(retriedAttempt.FindAllStringIndex(p.out.String(), -1))
	}
	return n
}

var retriedAttempt = regexp.MustCompile(`"component":"plugins"[^\n]*"attempt":([2-9]|[1-9][0-9]+)[,}]`)

// deploy deploys testdata/fee-notice.yaml once a worker has published its
// plugin catalog.
func (c *cluster) deploy() {
	c.t.Helper()
	src, err := os.ReadFile("testdata/fee-notice.yaml")
	if err != nil {
		c.t.Fatal(err)
	}
	dep := &registry.Deployer{Store: c.st}
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, err = dep.Deploy(context.Background(), "fee-notice.yaml", src, "failover-test")
		if err == nil {
			return
		}
		c.checkRunning()
		if time.Now().After(deadline) {
			c.t.Fatalf("deploy (the workers' plugin catalog never appeared?): %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// submissions returns n applications for the test procedure, each with a
// reference and building costs of its own.
func submissions(n, offset int) []intake.Submission {
	subs := make([]intake.Submission, n)
	for i := range subs {
		subs[i] = intake.Submission{
			Procedure: procedureKey, Tenant: "stadt-erfurt",
			Applicant: json.RawMessage(fmt.Sprintf(`{"name":"Antragsteller %d","email":"antrag%d@example.org"}`, offset+i, offset+i)),
			Payload:   json.RawMessage(fmt.Sprintf(`{"baukosten":%d}`, 50000+1000*(offset+i))),
		}
	}
	return subs
}

// submit publishes subs on the intake topic as the portal does, in batches
// of batch, and returns their references in order.
func (c *cluster) submit(subs []intake.Submission, batch int) []string {
	c.t.Helper()
	w := kafkabus.NewWriter(c.brokers, events.TopicIntake)
	defer w.Close()
	refs := make([]string, 0, len(subs))
	for len(subs) > 0 {
		k := min(batch, len(subs))
		msgs := make([]kafka.Message, 0, k)
		for _, s := range subs[:k] {
			m, rc, err := s.Encode(time.Now())
			if err != nil {
				c.t.Fatalf("encode submission: %v", err)
			}
			msgs = append(msgs, m)
			refs = append(refs, rc.Reference)
		}
		if err := w.WriteMessages(context.Background(), msgs...); err != nil {
			c.t.Fatalf("publish %d submissions: %v", k, err)
		}
		subs = subs[k:]
	}
	return refs
}

// query returns the single number a query yields.
func (c *cluster) count(sql string, args ...any) int {
	c.t.Helper()
	return storetest.QueryInt(c.t, c.dbURL, sql, args...)
}

// completed is the number of the test procedure's applications the
// projection shows completed.
func (c *cluster) completed() int {
	return c.count(`SELECT count(*) FROM applications WHERE procedure = $1 AND status = 'completed'`, procedureKey)
}

// awaitCompleted waits until want applications are completed, logging
// progress, and fails after timeout.
func (c *cluster) awaitCompleted(want int, timeout time.Duration) {
	c.t.Helper()
	start := time.Now()
	last := time.Now()
	for {
		c.checkRunning()
		n := c.completed()
		if n >= want {
			c.t.Logf("%d applications completed after %s", n, time.Since(start).Round(time.Second))
			return
		}
		if time.Since(start) > timeout {
			c.t.Fatalf("only %d of %d applications completed within %s", n, want, timeout)
		}
		if time.Since(last) > 15*time.Second {
			c.t.Logf("%d of %d applications completed after %s", n, want, time.Since(start).Round(time.Second))
			last = time.Now()
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// workflowRuns lists the executions started since since, by workflow ID,
// with their status; it waits until visibility shows want executions (it
// is written asynchronously) or 60 s have passed.
func (c *cluster) workflowRuns(since time.Time, want int) map[string][]string {
	c.t.Helper()
	ctx := context.Background()
	query := fmt.Sprintf("StartTime >= '%s'", since.UTC().Format(time.RFC3339Nano))
	deadline := time.Now().Add(2 * time.Minute)
	// list reads all pages; the embedded server's persistence rate limit
	// may refuse a page under load, which is retried.
	list := func() (map[string][]string, error) {
		runs := map[string][]string{}
		var token []byte
		for {
			lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			resp, err := c.tc.ListWorkflow(lctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: c.ns, Query: query, PageSize: 200, NextPageToken: token})
			cancel()
			if err != nil {
				return nil, fmt.Errorf("list workflows (%s): %w", query, err)
			}
			for _, e := range resp.Executions {
				id := e.GetExecution().GetWorkflowId()
				runs[id] = append(runs[id], e.GetStatus().String())
			}
			if token = resp.NextPageToken; len(token) == 0 {
				return runs, nil
			}
		}
	}
	for {
		runs, err := list()
		if err != nil {
			if time.Now().After(deadline) {
				c.t.Fatal(err)
			}
			c.t.Logf("%v (retrying)", err)
			time.Sleep(2 * time.Second)
			continue
		}
		done := 0
		for _, st := range runs {
			for _, s := range st {
				if s == "Completed" {
					done++
				}
			}
		}
		if done >= want || time.Now().After(deadline) {
			return runs
		}
		time.Sleep(time.Second)
	}
}

// checkWorkflows asserts that exactly one execution per reference was
// started since since, that it completed, and that nothing else was
// started.
func (c *cluster) checkWorkflows(since time.Time, refs []string) {
	c.t.Helper()
	runs := c.workflowRuns(since, len(refs))
	want := map[string]bool{}
	for _, r := range refs {
		want[contract.WorkflowID(r)] = true
	}
	var bad []string
	for id, st := range runs {
		if !want[id] {
			bad = append(bad, fmt.Sprintf("%s started but never submitted (%v)", id, st))
		} else if len(st) != 1 || st[0] != "Completed" {
			bad = append(bad, fmt.Sprintf("%s has executions %v, want exactly one Completed", id, st))
		}
	}
	for id := range want {
		if _, ok := runs[id]; !ok {
			bad = append(bad, id+" has no workflow execution")
		}
	}
	if len(bad) > 0 {
		c.t.Errorf("Temporal: %d of %d workflow IDs wrong, e.g. %s", len(bad), len(refs), strings.Join(bad[:min(5, len(bad))], "; "))
	} else {
		c.t.Logf("Temporal: %d workflow executions, one Completed per reference", len(runs))
	}
}

// checkRows asserts one submission (started) and one completed
// application row per reference, and no other rows of the procedure.
func (c *cluster) checkRows(refs []string) {
	c.t.Helper()
	n := len(refs)
	for _, q := range []struct {
		what string
		sql  string
	}{
		{"submissions", `SELECT count(*) FROM submissions WHERE procedure = $1 AND reference = ANY($2)`},
		{"submissions started", `SELECT count(*) FROM submissions WHERE procedure = $1 AND reference = ANY($2) AND started_at IS NOT NULL`},
		{"submissions of the procedure", `SELECT count(*) FROM submissions WHERE procedure = $1 AND $2::text[] IS NOT NULL`},
		{"applications completed", `SELECT count(*) FROM applications WHERE procedure = $1 AND reference = ANY($2) AND status = 'completed' AND outcome = 'issued'`},
		{"applications of the procedure", `SELECT count(*) FROM applications WHERE procedure = $1 AND $2::text[] IS NOT NULL`},
	} {
		if got := c.count(q.sql, procedureKey, refs); got != n {
			c.t.Errorf("PostgreSQL: %s: %d rows, want %d", q.what, got, n)
		}
	}
}

// checkOffsets asserts that the topic holds exactly want messages and that
// group has committed all of them.
func (c *cluster) checkOffsets(topic, group string, want int) {
	c.t.Helper()
	ctx := context.Background()
	ranges, err := kafkabus.Offsets(ctx, c.brokers, topic)
	if err != nil {
		c.t.Fatal(err)
	}
	var total int64
	var parts []int
	for p, r := range ranges {
		total += r.End - r.First
		parts = append(parts, p)
	}
	if total != int64(want) {
		c.t.Errorf("Kafka: %s holds %d messages, want %d", topic, total, want)
	}
	kc := &kafka.Client{Addr: kafka.TCP(c.brokers...), Timeout: 10 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := kc.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
		if err != nil {
			c.t.Fatalf("committed offsets of %s on %s: %v", group, topic, err)
		}
		var behind []string
		for _, p := range resp.Topics[topic] {
			if p.Error != nil {
				c.t.Fatalf("committed offset of %s on %s/%d: %v", group, topic, p.Partition, p.Error)
			}
			if end := ranges[p.Partition].End; p.CommittedOffset != end {
				behind = append(behind, fmt.Sprintf("partition %d at %d of %d", p.Partition, p.CommittedOffset, end))
			}
		}
		if len(behind) == 0 {
			c.t.Logf("Kafka: %s holds %d messages, group %s committed all", topic, total, group)
			return
		}
		if time.Now().After(deadline) {
			c.t.Errorf("Kafka: group %s has not committed all of %s: %s", group, topic, strings.Join(behind, ", "))
			return
		}
		time.Sleep(time.Second)
	}
}

// checkLetters asserts, from the notify plugin's own ledger and outbox,
// that exactly one letter went to each reference.
func (c *cluster) checkLetters(refs []string) {
	c.t.Helper()
	want := map[string]bool{}
	for _, r := range refs {
		want[r] = true
	}
	dir := filepath.Join(c.dataDir, "plugins", "notify")
	entries, err := filepath.Glob(filepath.Join(dir, "ledger", "*.json"))
	if err != nil {
		c.t.Fatal(err)
	}
	perRef := map[string]int{}
	for _, f := range entries {
		b, err := os.ReadFile(f)
		if err != nil {
			c.t.Fatal(err)
		}
		var e notify.Entry
		if err := json.Unmarshal(b, &e); err != nil {
			c.t.Fatalf("ledger entry %s: %v", f, err)
		}
		// The key is "<reference>/<step>/<visit>" (workflows/service.go).
		perRef[strings.SplitN(e.Key, "/", 2)[0]]++
	}
	var bad []string
	for r := range want {
		if perRef[r] != 1 {
			bad = append(bad, fmt.Sprintf("%s: %d ledger entries", r, perRef[r]))
		}
	}
	for r, n := range perRef {
		if !want[r] {
			bad = append(bad, fmt.Sprintf("%s (not submitted): %d ledger entries", r, n))
		}
	}
	if len(entries) != len(refs) || len(bad) > 0 {
		c.t.Errorf("notify ledger: %d entries for %d applications; %d wrong, e.g. %s", len(entries), len(refs), len(bad), strings.Join(bad[:min(5, len(bad))], "; "))
	}
	// The outbox holds what the transport delivered: one file per message
	// sent, named <time>-<message id>.eml.
	eml, err := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	if err != nil {
		c.t.Fatal(err)
	}
	ids := map[string]int{}
	for _, f := range eml {
		base := strings.TrimSuffix(filepath.Base(f), ".eml")
		ids[base[strings.Index(base, "-")+1:]]++
	}
	if len(eml) != len(refs) || len(ids) != len(refs) {
		var dup []string
		for id, n := range ids {
			if n > 1 {
				dup = append(dup, fmt.Sprintf("%s sent %d times", id, n))
			}
		}
		c.t.Errorf("notify outbox: %d messages with %d distinct ids for %d applications; %s", len(eml), len(ids), len(refs), strings.Join(dup[:min(5, len(dup))], "; "))
	}
	if !c.t.Failed() {
		c.t.Logf("notify: %d ledger entries, %d messages in the outbox, one per application", len(entries), len(eml))
	}
}

// checkEFile asserts, from the efile plugin's store, exactly one document
// in the e-file of each reference and no other e-file.
func (c *cluster) checkEFile(refs []string) {
	c.t.Helper()
	want := map[string]bool{}
	for _, r := range refs {
		want[r] = true
	}
	dir := filepath.Join(c.dataDir, "plugins", "efile")
	files, err := os.ReadDir(dir)
	if err != nil {
		c.t.Fatalf("e-file store: %v", err)
	}
	var bad []string
	seen, docs := 0, 0
	for _, f := range files {
		if !f.IsDir() || strings.HasPrefix(f.Name(), ".") {
			continue
		}
		seen++
		if !want[f.Name()] {
			bad = append(bad, f.Name()+" was never submitted")
		}
		entries, err := os.ReadDir(filepath.Join(dir, f.Name()))
		if err != nil {
			c.t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
		docs += n
		if n != 1 {
			bad = append(bad, fmt.Sprintf("%s holds %d documents", f.Name(), n))
		}
	}
	if seen != len(refs) || docs != len(refs) || len(bad) > 0 {
		c.t.Errorf("e-file store: %d e-files with %d documents for %d applications; %s", seen, docs, len(refs), strings.Join(bad[:min(5, len(bad))], "; "))
	} else {
		c.t.Logf("efile: %d e-files with one document each", seen)
	}
}
