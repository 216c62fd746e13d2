package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/amtsweg/amtsweg/store/storetest"
)

func TestHoldCommand(t *testing.T) {
	st, url := storetest.New(t)
	ctx := context.Background()
	const ref = "BA-2025-0901"
	if _, err := st.ApplyEvents(ctx, storetest.Lifecycle(ref)); err != nil {
		t.Fatal(err)
	}
	if _, err := runDeployCmd(t, newHoldCmd(), "place", ref, "--database-url", url, "--tenant", "stadt-jena", "--reason", "x"); err == nil ||
		!strings.Contains(err.Error(), "is not an application of stadt-jena") {
		t.Errorf("hold by another authority: %v", err)
	}
	if _, err := runDeployCmd(t, newHoldCmd(), "place", ref, "--database-url", url, "--tenant", "bauamt-erfurt"); err == nil ||
		!strings.Contains(err.Error(), "give the reason") {
		t.Errorf("hold without a reason: %v", err)
	}
	out, err := runDeployCmd(t, newHoldCmd(), "place", ref, "--database-url", url, "--tenant", "bauamt-erfurt", "--reason", "Klage")
	if err != nil || out != "legal hold placed on "+ref+"\n" {
		t.Fatalf("place: %v %s", err, out)
	}
	// Lifecycle's definition has no retention, so nothing is due anyway;
	// the hold itself is what erasure checks.
	if err := st.EraseApplication(ctx, "bauamt-erfurt", ref, "", "test"); err == nil || !strings.Contains(err.Error(), "legal hold") {
		t.Errorf("erasure under the hold: %v", err)
	}
	if _, err := runDeployCmd(t, newHoldCmd(), "release", ref, "--database-url", url, "--tenant", "bauamt-erfurt"); err == nil ||
		!strings.Contains(err.Error(), "give the reason") {
		t.Errorf("release without a reason: %v", err)
	}
	if _, err := runDeployCmd(t, newHoldCmd(), "release", ref, "--database-url", url, "--tenant", "bauamt-erfurt", "--reason", "Klage zurückgenommen"); err != nil {
		t.Fatal(err)
	}
	if _, err := runDeployCmd(t, newHoldCmd(), "release", ref, "--database-url", url, "--tenant", "bauamt-erfurt", "--reason", "again"); err == nil ||
		!strings.Contains(err.Error(), "has no legal hold") {
		t.Errorf("release twice: %v", err)
	}
	if due, err := st.ExpiredApplications(ctx, time.Now(), 10); err != nil || len(due) != 0 {
		t.Errorf("due without a retention period: %v %v", due, err)
	}
}
