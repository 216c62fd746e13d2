package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/store/storetest"
)

// TestAuditVerifyCommand runs amtsweg audit anchor and verify against a
// real database, before and after a row is changed behind Amtsweg's back.
func TestAuditVerifyCommand(t *testing.T) {
	st, url := storetest.New(t)
	ctx := context.Background()
	const a, b = "BA-2025-0401", "BA-2025-0402"
	for _, ref := range []string{a, b} {
		if _, err := st.ApplyEvents(ctx, storetest.Lifecycle(ref)); err != nil {
			t.Fatal(err)
		}
	}
	n := len(storetest.Lifecycle(a))

	out, err := runDeployCmd(t, newAuditAnchorCmd(), "--database-url", url)
	if err != nil || !strings.HasPrefix(out, "anchor 1 at ") || !strings.Contains(out, ": 2 chains (2 changed)") {
		t.Fatalf("anchor: %v\n%s", err, out)
	}
	out, err = runDeployCmd(t, newAuditVerifyCmd(), "--database-url", url, a)
	if err != nil || !strings.HasPrefix(out, fmt.Sprintf("%s ok: %d entries, head ", a, n)) ||
		!strings.HasSuffix(out, fmt.Sprintf("anchored up to position %d\n", n)) {
		t.Fatalf("verify %s: %v\n%s", a, err, out)
	}

	storetest.Exec(t, url, `ALTER TABLE procedure_events DISABLE TRIGGER procedure_events_append_only`)
	storetest.Exec(t, url, `UPDATE procedure_events SET payload = jsonb_set(payload, '{actor}', '"mallory"') WHERE reference = $1 AND seq = 9`, b)
	out, err = runDeployCmd(t, newAuditVerifyCmd(), "--database-url", url, "--all")
	if err == nil || err.Error() != "1 of 2 audit chains are broken" {
		t.Errorf("verify --all after tampering: %v", err)
	}
	for _, want := range []string{
		fmt.Sprintf("%s ok: %d entries", a, n),
		b + " BROKEN at position 9 (seq 9): payload differs from what was recorded",
		"anchors ok: 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	if _, err := runDeployCmd(t, newAuditVerifyCmd(), "--database-url", url, "BA-2025-0499"); err == nil ||
		!strings.Contains(err.Error(), "nothing is recorded for this reference") {
		t.Errorf("unknown reference: %v", err)
	}
	if _, err := runDeployCmd(t, newAuditVerifyCmd(), "--database-url", url); err == nil ||
		!strings.Contains(err.Error(), "--all") {
		t.Errorf("no argument: %v", err)
	}
}
