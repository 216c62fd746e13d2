package definitions

import (
	"strings"
	"testing"
)

// TestOptionsAndClockFrom: options are visible as options.<name> only in
// definitions that declare them, and a clock's from must yield a day.
func TestOptionsAndClockFrom(t *testing.T) {
	flow := `start: d
steps:
  - {id: d, type: decision, conditions: [{when: options.fiktion == true, next: done}], default: done}
  - {id: done, type: end, outcome: ok}
`
	clock := "clocks: [{id: c, title: {de: C}, period: P3M, startAt: d, from: %s}]\n"

	if errs := loadErrs(t, header+"options: {fiktion: false}\n"+strings.Replace(clock, "%s", "receivedOn", 1)+flow, ValidateOptions{}); len(errs) != 0 {
		t.Errorf("options and a from day: %v", errs)
	}
	errs := loadErrs(t, header+strings.Replace(clock, "%s", "receivedOn", 1)+flow, ValidateOptions{})
	if len(errs) != 1 || !strings.Contains(errs[0], `unknown variable "options"`) {
		t.Errorf("options without options: %v", errs)
	}
	errs = loadErrs(t, header+"options: {fiktion: false}\n"+strings.Replace(clock, "%s", "size(application.behoerden)", 1)+flow, ValidateOptions{})
	if len(errs) != 1 || !strings.Contains(errs[0], "clocks[0].from: from must yield a day as a string") {
		t.Errorf("a number as from: %v", errs)
	}
	errs = loadErrs(t, header+"options: {fiktion: false}\n"+strings.Replace(clock, "%s", "nirgends.from", 1)+flow, ValidateOptions{})
	if len(errs) != 1 || !strings.Contains(errs[0], `unknown variable "nirgends"`) {
		t.Errorf("an unknown variable in from: %v", errs)
	}
}

// TestClockExtensionNamesAClock: extendClock must name a declared clock
// and sits on service steps only.
func TestClockExtensionNamesAClock(t *testing.T) {
	flow := `clocks: [{id: c, title: {de: C}, period: P3M, startAt: s}]
start: s
steps:
  - {id: s, type: service, activity: amtsweg.case-number, extendClock: {clock: %s, period: P2M}, next: done}
  - {id: done, type: end, outcome: ok}
`
	if errs := loadErrs(t, header+strings.Replace(flow, "%s", "c", 1), ValidateOptions{}); len(errs) != 0 {
		t.Errorf("a valid extension: %v", errs)
	}
	errs := loadErrs(t, header+strings.Replace(flow, "%s", "x", 1), ValidateOptions{})
	if len(errs) != 1 || !strings.Contains(errs[0], `steps[0].extendClock.clock: clock "x" does not exist`) {
		t.Errorf("an unknown clock: %v", errs)
	}
	errs = loadErrs(t, header+`clocks: [{id: c, title: {de: C}, period: P3M, startAt: s}]
start: s
steps:
  - {id: s, type: task, role: r, extendClock: {clock: c, period: P2M}, next: done}
  - {id: done, type: end, outcome: ok}
`, ValidateOptions{})
	if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), "extendClock") {
		t.Errorf("extendClock on a task: %v", errs)
	}
}
