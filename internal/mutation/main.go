// Command mutation checks that the tests notice when a guard of a legal
// rule (four-eyes, tenant isolation, role, claim, form schema) is removed.
//
// It reads the guards listed in .ci/guards.txt, copies the working tree
// (tracked and untracked, not ignored files) into a scratch directory and,
// for each guard, replaces the guard's text there with its mutation, runs
// only the tests named for it, requires them to fail, and restores the
// file. Before any mutation it runs the same tests unmutated and requires
// them to pass, so a test that fails anyway (or a pattern matching no test)
// cannot count as catching a mutation; a mutation that does not compile is
// reported as invalid, not as caught. The working tree itself is never
// written; the command checks that it is unchanged at the end.
//
//	go run ./internal/mutation [-guards .ci/guards.txt] [-only regexp]
//
// It exits non-zero when a mutation survived, was invalid, a baseline
// failed or a tree was left changed. .ci/mutation runs it in CI.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

func main() {
	guardsFile := flag.String("guards", ".ci/guards.txt", "the list of guarded checks")
	only := flag.String("only", "", "check only the guards whose name matches this regular expression")
	timeout := flag.Duration("timeout", 10*time.Minute, "time limit for one test run")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ok, err := run(*guardsFile, *only, *timeout, os.Stdout)
	if err != nil {
		log.Error("mutation check failed", "error", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// outcome of one guard's mutation.
type outcome string

const (
	killed   outcome = "killed"   // the named tests failed: the guard is tested
	survived outcome = "SURVIVED" // the tests passed without the guard
	invalid  outcome = "INVALID"  // the mutation did not build or run
)

func run(guardsFile, only string, timeout time.Duration, out io.Writer) (bool, error) {
	root, err := gitOutput(".", "rev-parse", "--show-toplevel")
	if err != nil {
		return false, fmt.Errorf("find the repository root (run inside the git checkout): %w", err)
	}
	root = strings.TrimSpace(root)
	guards, err := readGuards(filepath.Join(root, guardsFile))
	if err != nil {
		return false, err
	}
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			return false, fmt.Errorf("-only: %w", err)
		}
		var sel []Guard
		for _, g := range guards {
			if re.MatchString(g.Name) {
				sel = append(sel, g)
			}
		}
		if len(sel) == 0 {
			return false, fmt.Errorf("-only %q matches no guard in %s", only, guardsFile)
		}
		guards = sel
	}
	statusBefore, err := gitOutput(root, "status", "--porcelain")
	if err != nil {
		return false, err
	}

	// A fixed scratch directory per checkout: the build cache keys on the
	// source paths, so later runs reuse the compiled packages.
	sum := sha256.Sum256([]byte(root))
	work := filepath.Join(os.TempDir(), "amtsweg-mutation-"+hex.EncodeToString(sum[:6]))
	if err := copyTree(root, work); err != nil {
		return false, fmt.Errorf("copy the tree to %s: %w", work, err)
	}
	fmt.Fprintf(out, "mutation check: %d guards, scratch copy %s\n", len(guards), work)

	// Every mutation must apply before anything runs.
	originals := map[string]string{}
	for _, g := range guards {
		if _, ok := originals[g.File]; !ok {
			b, err := os.ReadFile(filepath.Join(work, g.File))
			if err != nil {
				return false, fmt.Errorf("guard %s: %w", g.Name, err)
			}
			originals[g.File] = string(b)
		}
		if _, err := g.Mutate(originals[g.File]); err != nil {
			return false, fmt.Errorf("guard %s (%s:%d): %w", g.Name, guardsFile, g.Line, err)
		}
	}

	allOK := true
	// Baseline: the named tests pass on the unmutated tree, one run per
	// package (patterns joined; a pattern with a subtest part "/" runs on
	// its own, since -run splits at "/" before matching).
	type target struct{ pkg, run string }
	var baselines []target
	byPkg := map[string]int{}
	seen := map[target]bool{}
	for _, g := range guards {
		tg := target{g.Package, g.Run}
		if seen[tg] {
			continue
		}
		seen[tg] = true
		if i, ok := byPkg[g.Package]; ok && !strings.Contains(g.Run, "/") {
			baselines[i].run += "|" + g.Run
			continue
		}
		if !strings.Contains(g.Run, "/") {
			byPkg[g.Package] = len(baselines)
		}
		baselines = append(baselines, tg)
	}
	for _, tg := range baselines {
		start := time.Now()
		log, res := goTest(work, tg.pkg, tg.run, timeout)
		switch {
		case res != nil:
			fmt.Fprintf(out, "baseline FAILED  %s -run '%s' (%s): %v\n%s\n", tg.pkg, tg.run, since(start), res, tail(log, 30))
			allOK = false
		case strings.Contains(log, "no tests to run") || strings.Contains(log, "no test files"):
			fmt.Fprintf(out, "baseline FAILED  %s -run '%s': the pattern selects no test\n", tg.pkg, tg.run)
			allOK = false
		default:
			fmt.Fprintf(out, "baseline passed  %s -run '%s' (%s)\n", tg.pkg, tg.run, since(start))
		}
	}
	if !allOK {
		fmt.Fprintln(out, "the named tests must pass on the unmutated tree; fix them (or .ci/guards.txt) first")
		return false, nil
	}

	counts := map[outcome]int{}
	for _, g := range guards {
		path := filepath.Join(work, g.File)
		mutated, _ := g.Mutate(originals[g.File]) // checked above
		if err := os.WriteFile(path, []byte(mutated), 0o644); err != nil {
			return false, err
		}
		start := time.Now()
		log, res := goTest(work, g.Package, g.Run, timeout)
		if err := os.WriteFile(path, []byte(originals[g.File]), 0o644); err != nil {
			return false, fmt.Errorf("restore %s: %w", g.File, err)
		}
		o := killed
		switch {
		case res == nil:
			o = survived
		case buildFailed(log):
			o = invalid
		}
		counts[o]++
		fmt.Fprintf(out, "%-9s %-40s %s -run '%s' (%s)\n", o, g.Name, g.Package, g.Run, since(start))
		switch o {
		case survived:
			fmt.Fprintf(out, "          %s: removing %q went unnoticed; add a test that fails without it\n", g.File, g.Find)
			allOK = false
		case invalid:
			fmt.Fprintf(out, "          the mutation does not build or run; fix its replace line:\n%s\n", tail(log, 15))
			allOK = false
		}
	}

	// Nothing may be left changed: the scratch copy is restored, the
	// working tree untouched.
	for file, orig := range originals {
		b, err := os.ReadFile(filepath.Join(work, file))
		if err != nil || string(b) != orig {
			fmt.Fprintf(out, "the scratch copy of %s was left changed\n", file)
			allOK = false
		}
	}
	statusAfter, err := gitOutput(root, "status", "--porcelain")
	if err != nil {
		return false, err
	}
	if statusAfter != statusBefore {
		fmt.Fprintf(out, "the working tree changed during the check:\nbefore:\n%safter:\n%s", statusBefore, statusAfter)
		allOK = false
	}
	fmt.Fprintf(out, "%d killed, %d survived, %d invalid\n", counts[killed], counts[survived], counts[invalid])
	return allOK, nil
}

// goTest runs the tests matching pattern in pkg inside dir; it returns
// nil when they pass, and the combined output.
func goTest(dir, pkg, pattern string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-failfast", "-vet=off",
		"-timeout", timeout.String(), "-run", pattern, pkg)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s", timeout)
	}
	return buf.String(), err
}

// buildFailed reports whether go test failed before running a test.
func buildFailed(log string) bool {
	return strings.Contains(log, "[build failed]") || strings.Contains(log, "[setup failed]") ||
		strings.Contains(log, "no tests to run") || strings.Contains(log, "timed out after")
}

// copyTree copies the files git knows (tracked and untracked, not
// ignored) from root into dst, replacing dst.
func copyTree(root, dst string) error {
	list, err := gitOutput(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	for _, rel := range strings.Split(list, "\x00") {
		if rel == "" {
			continue
		}
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(src)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, to); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(src)
			if err != nil {
				return err
			}
			if err := os.WriteFile(to, b, fi.Mode().Perm()); err != nil {
				return err
			}
		}
	}
	// Directories the embedded PostgreSQL (run as user postgres when
	// root) must traverse.
	return filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			err = os.Chmod(p, 0o755)
		}
		return err
	})
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(b), nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "          " + strings.Join(lines, "\n          ")
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }
