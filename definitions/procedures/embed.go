package procedures

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/amtsweg/amtsweg/definitions"
)

// FS holds the bundled definition files at its root.
//
//go:embed *.yaml
var FS embed.FS

// Files returns the names of the bundled definition files, sorted.
func Files() []string {
	names, err := fs.Glob(FS, "*.yaml")
	if err != nil {
		// The pattern is constant and valid.
		panic(err)
	}
	sort.Strings(names)
	return names
}

// Load parses and validates every bundled definition with opts. The error
// joins the ErrorLists of all files that fail.
func Load(opts definitions.ValidateOptions) ([]*definitions.Procedure, error) {
	var out []*definitions.Procedure
	var errs []error
	for _, name := range Files() {
		src, err := FS.ReadFile(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("read bundled definition %s: %w", name, err))
			continue
		}
		p, err := definitions.Load(name, src, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// All parses and validates every bundled definition without an activity
// catalog (activities and their inputs are then not checked; Validate
// them again with the worker's catalog before deploying).
func All() ([]*definitions.Procedure, error) {
	return Load(definitions.ValidateOptions{})
}
