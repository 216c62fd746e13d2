package store

import (
	"bytes"
	"testing"

	"github.com/Masterminds/semver/v3"
)

func TestSemverKeyOrdersByPrecedence(t *testing.T) {
	// In ascending precedence (semver.org §11), with equal-precedence
	// neighbours grouped.
	versions := []string{
		"0.0.1", "0.1.0", "0.9.0", "0.10.0",
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
		"1.2.0", "1.9.0", "1.10.0", "1.10.1", "2.0.0-0", "2.0.0-1", "2.0.0-a", "2.0.0",
		"10.0.0", "18446744073709551615.0.0",
	}
	for i, a := range versions {
		ka, err := semverKey(a)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		va := semver.MustParse(a)
		for _, b := range versions[i:] {
			kb, _ := semverKey(b)
			vb := semver.MustParse(b)
			if got, want := bytes.Compare(ka, kb), va.Compare(vb); got != want {
				t.Errorf("compare(%s, %s): key order %d, semver precedence %d", a, b, got, want)
			}
		}
	}
}

func TestSemverKeyRejectsNonSemver(t *testing.T) {
	for _, v := range []string{"", "1", "1.2", "v1.2.3", "1.2.3.4", "01.2.3", "1.2.x"} {
		if _, err := semverKey(v); err == nil {
			t.Errorf("semverKey(%q) accepted a version that is not MAJOR.MINOR.PATCH", v)
		}
	}
}
