package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/internal/records"
	"github.com/amtsweg/amtsweg/store/storetest"
)

func TestGDPRExportCommand(t *testing.T) {
	st, url := storetest.New(t)
	const ref = "BA-2025-0601"
	if _, err := st.ApplyEvents(context.Background(), storetest.Lifecycle(ref)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "auskunft.json")
	msg, err := runDeployCmd(t, newGDPRExportCmd(), "--database-url", url, "--tenant", "bauamt-erfurt",
		"--applicant", `{"name": "Erika Mustermann"}`, "--operator", "olga", "-o", out)
	if err != nil || msg != "1 applications written to "+out+"\n" {
		t.Fatalf("export: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var exp records.SubjectExport
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.Applications) != 1 || exp.Applications[0].Reference != ref || exp.GeneratedBy != "olga" ||
		len(exp.Applications[0].Records["procedure_events"]) != len(storetest.Lifecycle(ref)) {
		t.Errorf("export %s", b)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("export file mode: %v %v", fi.Mode(), err)
	}
	if _, err := runDeployCmd(t, newGDPRExportCmd(), "--database-url", url, "--tenant", "stadt-jena", "--reference", ref); err == nil ||
		!strings.Contains(err.Error(), "not applications of this authority") {
		t.Errorf("another authority's reference: %v", err)
	}
	if _, err := runDeployCmd(t, newGDPRExportCmd(), "--database-url", url, "--tenant", "bauamt-erfurt", "--applicant", "{}"); err == nil ||
		!strings.Contains(err.Error(), "would match every applicant") {
		t.Errorf("empty match: %v", err)
	}
}
