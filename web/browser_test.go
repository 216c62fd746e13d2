package web_test

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/store"
)

// axeSource is axe-core (MPL-2.0), vendored from the npm registry with its
// licence header; see testdata/README.md.
//
//go:embed testdata/axe.min.js
var axeSource string

// TestMain lets the test binary serve as the multi-call amtsweg binary
// (the plugin host starts bundled plugins as "<binary> plugin serve
// <name>"), and stops the shared stack and browser after the tests.
func TestMain(m *testing.M) {
	e2e.ServeBundledPlugin()
	code := m.Run()
	shared.stop()
	os.Exit(code)
}

// env is the one dev stack and the one browser of this test binary.
type env struct {
	dev     *devstack.Dev
	dir     string
	browser context.Context
	stopB   context.CancelFunc
	stopA   context.CancelFunc
}

var (
	shared     env
	stackErr   error
	stackOnce  sync.Once
	browserErr error
	browserOne sync.Once
)

func (e *env) stop() {
	if e.stopB != nil {
		e.stopB()
		e.stopA()
	}
	if e.dev != nil {
		e.dev.Stop()
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}

// setup starts the stack and the browser once for all tests.
func setup(t *testing.T) *env {
	t.Helper()
	withBrowser(t)
	stackOnce.Do(func() { stackErr = shared.startStack() })
	if stackErr != nil {
		t.Fatal(stackErr)
	}
	return &shared
}

// withBrowser starts only the browser (for tests of static pages).
func withBrowser(t *testing.T) *env {
	t.Helper()
	browserOne.Do(func() { browserErr = shared.startBrowser() })
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	return &shared
}

func (e *env) startStack() error {
	var err error
	if e.dir, err = e2e.NewDataDir(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e.dev, err = e2e.StartStack(ctx, e.dir)
	return err
}

func (e *env) startBrowser() error {
	chromium, err := findChromium()
	if err != nil {
		return err
	}
	profile, err := os.MkdirTemp("", "amtsweg-chromium-")
	if err != nil {
		return err
	}
	alloc, stopA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	browser, stopB := chromedp.NewContext(alloc)
	// The first Run starts the browser; it lives as long as this context.
	if _, err := chromedp.Run(browser, chromedp.Evaluate[int](`1`)); err != nil {
		stopB()
		stopA()
		return fmt.Errorf("start Chromium (%s): %w", chromium, err)
	}
	e.browser, e.stopB, e.stopA = browser, stopB, func() { stopA(); os.RemoveAll(profile) }
	return nil
}

// chromiumNames are the names Chromium and Chrome go by on PATH.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}

// findChromium returns the browser to drive: CHROME_PATH when set, else the
// first of chromiumNames on PATH. It never installs anything: a test must
// not change its host (.ci/run installs what CI needs).
func findChromium() (string, error) {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("CHROME_PATH=%s is not an executable browser: %w", p, err)
		}
		return p, nil
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("the browser tests need Chromium: none of %s is on PATH and CHROME_PATH is unset; "+
		"install the Debian package chromium (apt-get install chromium) or set CHROME_PATH", strings.Join(chromiumNames, ", "))
}

// tab is a browser tab with its own cookie jar (a new browser context),
// the test's artifact directory and a step counter for screenshot names.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
	n    int
}

func (e *env) newTab(t *testing.T) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first Run creates the tab, which lives as long as the context of
	// that Run: so no time limit on this one.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`1`)); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	dir := t.TempDir()
	if a := os.Getenv("AMTSWEG_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots of %s: %s", t.Name(), dir)
	b := &tab{t: t, ctx: ctx, dir: dir}
	if e.dev != nil {
		b.base = e.dev.APIURL
	}
	return b
}

// do runs actions with a time limit.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.textOrErr())
	}
}

func (b *tab) textOrErr() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
	if err != nil {
		return err.Error()
	}
	return s
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
}

// text returns the text of the first element that matches css.
func (b *tab) text(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.t.Fatalf("text of %s: %v\npage: %s", css, err, b.textOrErr())
	}
	return s
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// submit clicks css (a submit button or link) and waits until a new
// document has loaded and shows waitFor.
func (b *tab) submit(css, waitFor string) {
	b.t.Helper()
	b.eval(`window.__before = "x"; "ok"`)
	b.do("click "+css, chromedp.Click(chromedp.CSS(css)))
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" && window.__before === undefined ? "new" : "old"`))
		cancel()
		if err == nil && v == "new" {
			break
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("clicking %s loaded no new page\npage: %s", css, b.textOrErr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.do("wait for "+waitFor, chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

// shot saves a full-page screenshot as an artifact and returns its path.
func (b *tab) shot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.n++
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// violations runs axe-core's WCAG 2.0/2.1 level A and AA rules on the
// page.
func (b *tab) violations() []axeViolation {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe !== "undefined"`))
	if err != nil {
		b.t.Fatal(err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+"\n;true")); err != nil {
			b.t.Fatalf("load axe-core: %v", err)
		}
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
		resultTypes: ["violations"]
	}).then(r => r.violations)`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe: %v", err)
	}
	return vs
}

// axe fails the test on every violation axe-core finds on the page.
func (b *tab) axe(page string) {
	b.t.Helper()
	vs := b.violations()
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprintf("%v %s (%s)", n.Target, n.HTML, n.Summary))
		}
		b.t.Errorf("accessibility (axe %s, %s) on %s: %s\n  %s", v.ID, v.Impact, page, v.Help, strings.Join(where, "\n  "))
	}
}

// openTaskOf waits for the open task of an application in the worklist
// projection, other than the tasks except names (which the projection may
// still show as open).
func openTaskOf(t *testing.T, e *env, tenant, role, reference string, except ...string) store.Task {
	t.Helper()
	st, err := e.dev.Stack.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		page, err := st.Tasks(context.Background(), store.TaskQuery{Tenant: tenant, Roles: []string{role}, Statuses: []string{"open"}, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range page.Tasks {
			if tk.Reference == reference && !slices.Contains(except, tk.ID) {
				return tk
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no open %s task for %s", role, reference)
	return store.Task{}
}

// signIn uses the dev sign-in page.
func (b *tab) signIn(subject, name string, roles ...string) {
	b.t.Helper()
	b.do("fill sign-in",
		chromedp.WaitVisible(chromedp.CSS(`#subject`)),
		chromedp.SetValue(chromedp.CSS(`#subject`), subject),
		chromedp.SetValue(chromedp.CSS(`#name`), name),
		chromedp.SetValue(chromedp.CSS(`#tenant`), "stadt-erfurt"),
	)
	// Uncheck the default role, then check the wanted ones.
	b.eval(`document.querySelectorAll('input[name="roles"]').forEach(c => c.checked = false); "ok"`)
	var other []string
	for _, r := range roles {
		found := b.eval(fmt.Sprintf(`(() => { const c = document.querySelector('input[name="roles"][value=%q]'); if (!c) return "no"; c.checked = true; return "yes" })()`, r))
		if found != "yes" {
			other = append(other, r)
		}
	}
	if len(other) > 0 {
		b.do("other roles", chromedp.SetValue(chromedp.CSS(`#otherRoles`), strings.Join(other, " ")))
	}
	b.submit(`form[action="/inbox/login"] button[type="submit"]`, `main h1`)
}

// fetch sends req without following redirects and returns status and body.
func fetch(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestFindChromiumNeverInstalls: without a browser on PATH or in
// CHROME_PATH the browser tests fail with one line naming the Debian
// package, and change nothing on the machine.
func TestFindChromiumNeverInstalls(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CHROME_PATH", "")
	_, err := findChromium()
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Fatalf("got %v, want one line naming the Debian package chromium", err)
	}
	bin := filepath.Join(t.TempDir(), "chromium-browser")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Dir(bin))
	if got, err := findChromium(); err != nil || got != bin {
		t.Fatalf("findChromium() = %q, %v; want %s found on PATH", got, err, bin)
	}
}
