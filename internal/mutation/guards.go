package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Guard is one check that guards a legal rule, and the deliberate removal
// of it that a test must notice.
type Guard struct {
	// Name identifies the guard in the report, e.g. "workflows/complete-four-eyes".
	Name string
	// File is the source file, relative to the module root.
	File string
	// In, when set, is text before the guard (e.g. the function's
	// signature): Find is searched for from In's first occurrence on.
	In string
	// Find is the exact guard text; it must occur in File (after In).
	Find string
	// Replace is what the mutation puts in Find's place: the guard
	// removed or negated, and the code still compiling.
	Replace string
	// Package is the Go package whose tests must catch the mutation
	// (e.g. "./workflows") and Run the -run pattern selecting them.
	Package string
	Run     string
	// Line is where the entry starts in the guards file.
	Line int
}

// ParseGuards reads a guards file: entries of "key: value" lines, each
// entry opened by "[name]"; blank lines and lines starting with # are
// ignored. Keys: file, in, find, replace, package, run. Values are taken
// verbatim after "key: " (Find and Replace are matched exactly, spaces and
// all, so they are written on one line).
func ParseGuards(r io.Reader, src string) ([]Guard, error) {
	var (
		out []Guard
		cur *Guard
	)
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		case strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]"):
			out = append(out, Guard{Name: strings.TrimSpace(trimmed[1 : len(trimmed)-1]), Line: n})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("%s:%d: %q before the first [name] line; start each guard with [name]", src, n, trimmed)
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want \"key: value\", got %q", src, n, trimmed)
		}
		val = strings.TrimPrefix(val, " ")
		switch strings.TrimSpace(key) {
		case "file":
			cur.File = val
		case "in":
			cur.In = val
		case "find":
			cur.Find = val
		case "replace":
			cur.Replace = val
		case "package":
			cur.Package = val
		case "run":
			cur.Run = val
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q (use file, in, find, replace, package, run)", src, n, strings.TrimSpace(key))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, g := range out {
		var missing []string
		for k, v := range map[string]string{"file": g.File, "find": g.Find, "package": g.Package, "run": g.Run} {
			if v == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("%s:%d: guard %s lacks %s", src, g.Line, g.Name, strings.Join(missing, ", "))
		}
		if g.Find == g.Replace {
			return nil, fmt.Errorf("%s:%d: guard %s: replace equals find, so nothing would change", src, g.Line, g.Name)
		}
		if seen[g.Name] {
			return nil, fmt.Errorf("%s:%d: guard name %s is used twice", src, g.Line, g.Name)
		}
		seen[g.Name] = true
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no guards listed", src)
	}
	return out, nil
}

// Mutate returns src with g's guard replaced. Find must occur exactly once
// after In (or in the whole file without In), so that an edit elsewhere
// cannot make the mutation hit another line.
func (g Guard) Mutate(src string) (string, error) {
	start := 0
	if g.In != "" {
		i := strings.Index(src, g.In)
		if i < 0 {
			return "", fmt.Errorf("%s: %q not found; update the guard's \"in\" line", g.File, g.In)
		}
		if strings.Count(src, g.In) > 1 {
			return "", fmt.Errorf("%s: %q occurs more than once; make the guard's \"in\" line unique", g.File, g.In)
		}
		start = i
	}
	rest := src[start:]
	i := strings.Index(rest, g.Find)
	if i < 0 {
		return "", fmt.Errorf("%s: guard text %q not found (after %q); the code changed: update .ci/guards.txt", g.File, g.Find, g.In)
	}
	if g.In == "" && strings.Count(rest, g.Find) > 1 {
		return "", fmt.Errorf("%s: guard text %q occurs more than once; add an \"in\" line naming the function", g.File, g.Find)
	}
	return src[:start] + rest[:i] + g.Replace + rest[i+len(g.Find):], nil
}

func readGuards(path string) ([]Guard, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseGuards(f, path)
}
