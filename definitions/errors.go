package definitions

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a definition: where it is, what is wrong, and
// how to fix it.
type Error struct {
	// File is the definition's file name as given to Parse or Load.
	File string
	// Line and Column are 1-based; 0 when unknown (definitions built in
	// code, or a YAML syntax error whose column the parser does not tell).
	Line, Column int
	// Path locates the field in the document, e.g. "steps[3].next".
	Path string
	// Msg says what is wrong.
	Msg string
	// Fix says what to do about it; may be empty when Msg says it all.
	Fix string
}

// Error renders the error as
//
//	file:line:col: path: message (fix)
//
// leaving out the parts that are unknown.
func (e Error) Error() string {
	var sb strings.Builder
	if e.File != "" {
		sb.WriteString(e.File)
		sb.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&sb, "%d:", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&sb, "%d:", e.Column)
		}
	}
	if sb.Len() > 0 {
		sb.WriteByte(' ')
	}
	if e.Path != "" {
		sb.WriteString(e.Path)
		sb.WriteString(": ")
	}
	sb.WriteString(e.Msg)
	if e.Fix != "" {
		sb.WriteString(" (")
		sb.WriteString(e.Fix)
		sb.WriteByte(')')
	}
	return sb.String()
}

// ErrorList is every problem found in a definition, in file order.
type ErrorList []Error

// Error renders one error per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns l as an error, or nil if l is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// sortAndDedup orders the list by position (errors without position last,
// by path) and drops exact duplicates.
func (l ErrorList) sortAndDedup() ErrorList {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if (a.Line == 0) != (b.Line == 0) {
			return a.Line != 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Msg < b.Msg
	})
	var out ErrorList
	for i, e := range l {
		if i > 0 && e == l[i-1] {
			continue
		}
		out = append(out, e)
	}
	return out
}
