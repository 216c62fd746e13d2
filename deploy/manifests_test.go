package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/cli"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/workers/intake"
	"github.com/amtsweg/amtsweg/workers/projector"
)

// object is one Kubernetes object of the manifests, as parsed.
type object struct {
	file string
	doc  map[string]any
}

func (o object) kind() string { return str(o.doc, "kind") }
func (o object) name() string { return str(o.doc, "metadata", "name") }
func (o object) String() string {
	return fmt.Sprintf("%s %s/%s", o.file, o.kind(), o.name())
}

// str and get walk a parsed YAML document.
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...string) []any {
	l, _ := get(v, path...).([]any)
	return l
}

func labels(v any, path ...string) map[string]string {
	out := map[string]string{}
	m, _ := get(v, path...).(map[string]any)
	for k, x := range m {
		out[k] = fmt.Sprint(x)
	}
	return out
}

func parseManifests(t *testing.T) []object {
	t.Helper()
	kust := readYAML(t, "kubernetes/kustomization.yaml")
	var objs []object
	var listed []string
	for _, r := range list(kust, "resources") {
		file := r.(string)
		listed = append(listed, file)
		f, err := os.Open(filepath.Join("kubernetes", file))
		if err != nil {
			t.Fatalf("kustomization.yaml lists %s: %v", file, err)
		}
		dec := yaml.NewDecoder(f)
		for {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if doc == nil {
				continue
			}
			o := object{file: file, doc: doc}
			if str(doc, "apiVersion") == "" || o.kind() == "" || o.name() == "" {
				t.Errorf("%s: an object without apiVersion, kind or metadata.name: %v", file, doc)
			}
			if ns := str(doc, "metadata", "namespace"); o.kind() != "Namespace" && ns != "amtsweg" {
				t.Errorf("%v: namespace %q, want amtsweg", o, ns)
			}
			objs = append(objs, o)
		}
		f.Close()
	}
	// Every manifest in the folder is applied, except the Helm values.
	files, _ := filepath.Glob("kubernetes/*.yaml")
	for _, f := range files {
		base := filepath.Base(f)
		if base != "kustomization.yaml" && base != "temporal-values.yaml" && !slices.Contains(listed, base) {
			t.Errorf("kubernetes/%s is not listed in kustomization.yaml", base)
		}
	}
	return objs
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

func byKind(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o.kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestDeployments checks each Amtsweg Deployment against the binary: a
// real subcommand, settings the binary reads, probes on the operations
// port, resource requests, and a PodDisruptionBudget.
func TestDeployments(t *testing.T) {
	objs := parseManifests(t)
	root := cli.New()
	envs := map[string]bool{}
	for _, s := range cli.Settings {
		envs[s.Env] = true
	}
	for _, cm := range byKind(objs, "ConfigMap") {
		for k := range get(cm.doc, "data").(map[string]any) {
			if !envs[k] && k != "AMTSWEG_LOG_FORMAT" {
				t.Errorf("%v sets %s, which no amtsweg setting reads (internal/cli/settings.go)", cm, k)
			}
		}
	}
	deployments := byKind(objs, "Deployment")
	var kinds []string
	for _, d := range deployments {
		tmplLabels := labels(d.doc, "spec", "template", "metadata", "labels")
		if !selects(labels(d.doc, "spec", "selector", "matchLabels"), tmplLabels) {
			t.Errorf("%v: the selector does not select its own pods", d)
		}
		containers := list(d.doc, "spec", "template", "spec", "containers")
		if len(containers) != 1 {
			t.Errorf("%v: %d containers, want 1", d, len(containers))
			continue
		}
		c := containers[0]
		args := list(c, "args")
		if len(args) == 0 {
			t.Errorf("%v: no args: which amtsweg command does it run?", d)
			continue
		}
		cmd, _, err := root.Find([]string{args[0].(string)})
		if err != nil || cmd == root {
			t.Errorf("%v runs %q, which is no amtsweg command", d, args[0])
			continue
		}
		kinds = append(kinds, cmd.Name())
		if cmd.Flags().Lookup("metrics-listen") == nil {
			t.Errorf("%v: amtsweg %s serves no operations endpoints (--metrics-listen)", d, cmd.Name())
		}
		ports := map[string]bool{}
		for _, p := range list(c, "ports") {
			ports[str(p, "name")] = true
		}
		for probe, path := range map[string]string{"livenessProbe": "/livez", "readinessProbe": "/readyz", "startupProbe": "/livez"} {
			if got := str(c, probe, "httpGet", "path"); got != path {
				t.Errorf("%v: %s path %q, want %s", d, probe, got, path)
			}
			if port := str(c, probe, "httpGet", "port"); !ports[port] {
				t.Errorf("%v: %s on port %q, which the container does not declare", d, probe, port)
			}
		}
		for _, r := range []string{"cpu", "memory"} {
			if get(c, "resources", "requests", r) == nil {
				t.Errorf("%v: no %s request", d, r)
			}
		}
		if get(c, "resources", "limits", "memory") == nil {
			t.Errorf("%v: no memory limit", d)
		}
		var pdbs int
		for _, p := range byKind(objs, "PodDisruptionBudget") {
			if selects(labels(p.doc, "spec", "selector", "matchLabels"), tmplLabels) {
				pdbs++
			}
		}
		if pdbs != 1 {
			t.Errorf("%v: %d PodDisruptionBudgets select its pods, want 1", d, pdbs)
		}
	}
	sort.Strings(kinds)
	if want := []string{"api", "intake", "projector", "worker"}; !slices.Equal(kinds, want) {
		t.Errorf("Deployments run %v, want one of each of %v", kinds, want)
	}
	// Services and PodMonitors point at pods and ports that exist.
	for _, s := range append(byKind(objs, "Service"), byKind(objs, "PodMonitor")...) {
		sel := labels(s.doc, "spec", "selector")
		if s.kind() == "PodMonitor" {
			sel = labels(s.doc, "spec", "selector", "matchLabels")
		}
		var found bool
		for _, d := range deployments {
			if selects(sel, labels(d.doc, "spec", "template", "metadata", "labels")) {
				found = true
			}
		}
		if !found {
			t.Errorf("%v selects no Deployment's pods", s)
		}
	}
}

// TestScaling checks that every autoscaler targets a Deployment, that the
// Kafka triggers name the consumer groups and topics the code uses, and
// that no queue-driven kind scales past its topic's partitions.
func TestScaling(t *testing.T) {
	objs := parseManifests(t)
	deployments := map[string]bool{}
	for _, d := range byKind(objs, "Deployment") {
		deployments[d.name()] = true
	}
	partitions := map[string]int{}
	for _, k := range byKind(objs, "KafkaTopic") {
		partitions[k.name()] = get(k.doc, "spec", "partitions").(int)
	}
	wantKafka := map[string][2]string{
		"amtsweg-intake":    {intake.GroupIntake, events.TopicIntake},
		"amtsweg-projector": {projector.GroupID, events.TopicProcedureEvents},
	}
	scaled := map[string]bool{}
	for _, so := range append(byKind(objs, "ScaledObject"), byKind(objs, "HorizontalPodAutoscaler")...) {
		target := str(so.doc, "spec", "scaleTargetRef", "name")
		if !deployments[target] {
			t.Errorf("%v scales %q, which is no Deployment", so, target)
		}
		scaled[target] = true
		for _, tr := range list(so.doc, "spec", "triggers") {
			if str(tr, "type") != "kafka" {
				continue
			}
			want, ok := wantKafka[target]
			group, topic := str(tr, "metadata", "consumerGroup"), str(tr, "metadata", "topic")
			if !ok || group != want[0] || topic != want[1] {
				t.Errorf("%v: kafka trigger on group %q topic %q, want %q %q (the code's)", so, group, topic, want[0], want[1])
			}
			if max, _ := get(so.doc, "spec", "maxReplicaCount").(int); max > partitions[topic] {
				t.Errorf("%v: up to %d replicas, but %s has %d partitions", so, max, topic, partitions[topic])
			}
		}
	}
	for d := range deployments {
		if !scaled[d] {
			t.Errorf("Deployment %s has no autoscaler", d)
		}
	}
}

// TestTopics checks that every topic the product uses is declared, with
// three replicas and min.insync.replicas 2.
func TestTopics(t *testing.T) {
	objs := parseManifests(t)
	declared := map[string]object{}
	for _, k := range byKind(objs, "KafkaTopic") {
		declared[k.name()] = k
	}
	for _, spec := range devstack.Topics {
		k, ok := declared[spec.Name]
		if !ok {
			t.Errorf("topic %s is used by the product but not declared in kafka-strimzi.yaml", spec.Name)
			continue
		}
		if r := get(k.doc, "spec", "replicas"); r != 3 {
			t.Errorf("%v: %v replicas, want 3", k, r)
		}
		if m := get(k.doc, "spec", "config", "min.insync.replicas"); m != 2 {
			t.Errorf("%v: min.insync.replicas %v, want 2", k, m)
		}
	}
}

var metricName = regexp.MustCompile(`\b(amtsweg|temporal)_[a-z_]+\b`)

// TestMetricNames checks that every metric the dashboard and the alerts
// query is one a process exports: Amtsweg's own by their registration in
// the code, the Temporal SDK's by its metric constants (the exporter adds
// the unit and _total suffixes, see internal/ops).
func TestMetricNames(t *testing.T) {
	ours := registeredMetrics(t)
	sdk := sdkMetrics(t)
	var queries []string
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	b, err := os.ReadFile("grafana/amtsweg-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana/amtsweg-dashboard.json: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries = append(queries, tg.Expr)
		}
	}
	for _, o := range byKind(parseManifests(t), "PrometheusRule") {
		for _, g := range list(o.doc, "spec", "groups") {
			for _, r := range list(g, "rules") {
				queries = append(queries, str(r, "expr"))
			}
		}
	}
	for _, o := range byKind(parseManifests(t), "ScaledObject") {
		for _, tr := range list(o.doc, "spec", "triggers") {
			if q := str(tr, "metadata", "query"); q != "" {
				queries = append(queries, q)
			}
		}
	}
	if len(queries) < 10 {
		t.Fatalf("only %d queries found: the dashboard or the alerts are missing", len(queries))
	}
	for _, q := range queries {
		for _, m := range metricName.FindAllString(q, -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
			if strings.HasPrefix(m, "amtsweg_") {
				if !ours[base] {
					t.Errorf("query %q uses %s, which no amtsweg process registers", q, m)
				}
				continue
			}
			sdkBase := strings.TrimSuffix(strings.TrimSuffix(base, "_seconds"), "_total")
			if !sdk[sdkBase] {
				t.Errorf("query %q uses %s, which the Temporal SDK does not report", q, m)
			}
		}
	}
}

// registeredMetrics finds the names of the Prometheus metrics the code
// registers (Name: "amtsweg_..." in the options of a collector).
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	re := regexp.MustCompile(`Name:\s+"(amtsweg_[a-z_]+)"`)
	names := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// sdkMetrics reads the Temporal SDK's metric names from the SDK's source
// in the module cache (the constants are internal to the SDK).
func sdkMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/sdk").Output()
	if err != nil {
		t.Fatalf("go list go.temporal.io/sdk: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(string(bytes.TrimSpace(out)), "internal", "common", "metrics", "constants.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`TemporalMetricsPrefix \+ "([a-z_]+)"`).FindAllSubmatch(b, -1) {
		names["temporal_"+string(m[1])] = true
	}
	if len(names) < 10 {
		t.Fatalf("found only %d SDK metric names: has the SDK's constants file moved?", len(names))
	}
	return names
}
