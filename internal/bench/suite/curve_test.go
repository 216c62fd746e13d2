package suite

import (
	"strings"
	"testing"
)

func TestNotRunNamesTheMissingPoints(t *testing.T) {
	cfg := Defaults()
	rep := &Report{Curve: &Curve{NotRun: []int{10000}}, Status: &LoadResult{}, Worklist: &LoadResult{}, Open: &OpenResult{}}
	got := strings.Join(notRun(&cfg, rep), "\n")
	for _, want := range []string{"N=[10000]", "status lookups at [100000]", "worklist at [10000]", "open procedures up to [10000 100000]"} {
		if !strings.Contains(got, want) {
			t.Errorf("not-run list lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "1000000") || strings.Contains(got, "[10000 100000] (--worklist") {
		t.Errorf("a point that ran is listed:\n%s", got)
	}
	rep.Status = nil
	if got := strings.Join(notRun(&cfg, rep), "\n"); !strings.Contains(got, "status lookups at [100000 1000000]") {
		t.Errorf("a phase that did not run leaves out every size:\n%s", got)
	}
}
