package store_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

// tamper runs SQL as an attacker with database rights would: with the
// append-only triggers switched off.
func tamper(t *testing.T, s *store.Store, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	q := `ALTER TABLE procedure_events DISABLE TRIGGER procedure_events_append_only;
ALTER TABLE audit_anchor_heads DISABLE TRIGGER audit_anchor_heads_immutable;`
	if _, err := store.PoolOf(s).Exec(ctx, q); err != nil {
		t.Fatal(err)
	}
	tag, err := store.PoolOf(s).Exec(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if tag.RowsAffected() == 0 {
		t.Fatalf("%s changed nothing", sql)
	}
	q = strings.ReplaceAll(q, "DISABLE", "ENABLE")
	if _, err := store.PoolOf(s).Exec(ctx, q); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, s *store.Store, ref string) store.AuditReport {
	t.Helper()
	rep, err := s.VerifyAuditChain(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestAuditChainVerifiesWhateverTheArrivalOrder(t *testing.T) {
	s, _ := storetest.New(t)
	const ref = "BA-2025-0100"
	evs := storetest.Lifecycle(ref)
	// Out of order, with redeliveries: the chain is in append order.
	apply(t, s, evs[5:9]...)
	apply(t, s, evs[0:6]...)
	apply(t, s, evs...)
	apply(t, s, evs[3:4]...)
	rep := verify(t, s, ref)
	if !rep.OK() || rep.Entries != int64(len(evs)) || len(rep.Head) != 64 {
		t.Fatalf("report %+v, want %d entries and no break", rep, len(evs))
	}
	// The seq of the entry at position 1 is 6: the first batch held seqs 6..9.
	var seq int64
	if err := store.PoolOf(s).QueryRow(context.Background(), `SELECT seq FROM procedure_events WHERE reference = $1 AND position = 1`, ref).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if seq != 6 {
		t.Errorf("position 1 holds seq %d, want 6", seq)
	}
	if _, err := s.VerifyAuditChain(context.Background(), "BA-2025-9999"); err == nil || !strings.Contains(err.Error(), "no audit entries") {
		t.Errorf("unknown reference: %v", err)
	}
}

func TestAuditChainDetectsTampering(t *testing.T) {
	s, _ := storetest.New(t)
	refs := map[string]string{}
	for _, name := range []string{"payload", "middle", "last", "reorder", "tenant", "time", "head"} {
		refs[name] = "BA-2025-" + name
		apply(t, s, storetest.Lifecycle(refs[name])...)
	}
	for name, ref := range refs {
		if rep := verify(t, s, ref); !rep.OK() {
			t.Fatalf("%s before tampering: %+v", name, rep.Break)
		}
	}
	n := int64(len(storetest.Lifecycle("x")))

	tamper(t, s, `UPDATE procedure_events SET payload = jsonb_set(payload, '{received,applicant,name}', '"Max Mustermann"') WHERE reference = $1 AND seq = 1`, refs["payload"])
	tamper(t, s, `DELETE FROM procedure_events WHERE reference = $1 AND position = 4`, refs["middle"])
	tamper(t, s, `DELETE FROM procedure_events WHERE reference = $1 AND position = $2`, refs["last"], n)
	// Swap the entries at positions 2 and 3.
	tamper(t, s, `UPDATE procedure_events SET position = 1000 WHERE reference = $1 AND position = 2`, refs["reorder"])
	tamper(t, s, `UPDATE procedure_events SET position = 2 WHERE reference = $1 AND position = 3`, refs["reorder"])
	tamper(t, s, `UPDATE procedure_events SET position = 3 WHERE reference = $1 AND position = 1000`, refs["reorder"])
	tamper(t, s, `UPDATE procedure_events SET tenant = 'bauamt-weimar' WHERE reference = $1 AND position = 5`, refs["tenant"])
	tamper(t, s, `UPDATE procedure_events SET time = time + interval '1 day' WHERE reference = $1 AND position = 7`, refs["time"])
	tamper(t, s, `DELETE FROM audit_heads WHERE reference = $1`, refs["head"])

	for _, c := range []struct {
		name    string
		pos     int64
		problem string
	}{
		{"payload", 1, "payload differs"},
		{"middle", 4, "position 4 is missing"},
		{"last", n, "deleted at the end"},
		{"reorder", 2, "link to the previous entry differs"},
		{"tenant", 5, "entry hash differs"},
		{"time", 7, "entry hash differs"},
		{"head", n, "no recorded head"},
	} {
		rep := verify(t, s, refs[c.name])
		if rep.Break == nil {
			t.Errorf("%s: tampering not detected: %+v", c.name, rep)
			continue
		}
		if rep.Break.Position != c.pos || !strings.Contains(rep.Break.Problem, c.problem) {
			t.Errorf("%s: break at %d: %q; want position %d and %q", c.name, rep.Break.Position, rep.Break.Problem, c.pos, c.problem)
		}
	}
}

// An attacker who deletes the last entries and moves the chain's head back
// leaves a chain that is consistent in itself; the anchor taken before
// still records the old head.
func TestAuditAnchorDetectsATruncatedChain(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	const a, b = "BA-2025-0201", "BA-2025-0202"
	evs := storetest.Lifecycle(a)
	apply(t, s, evs[:10]...)
	apply(t, s, storetest.Lifecycle(b)...)
	first, err := s.AnchorAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != 1 || first.Chains != 2 || first.Changed != 2 {
		t.Errorf("first anchor %+v, want id 1 over 2 chains, 2 changed", first)
	}
	apply(t, s, evs[10:]...)
	second, err := s.AnchorAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != 2 || second.Chains != 2 || second.Changed != 1 {
		t.Errorf("second anchor %+v, want id 2 over 2 chains, 1 changed", second)
	}
	if n, problem, err := s.VerifyAuditAnchors(ctx); err != nil || problem != "" || n != 2 {
		t.Fatalf("anchors: %d, %q, %v", n, problem, err)
	}
	if rep := verify(t, s, a); !rep.OK() || rep.Anchored != int64(len(evs)) {
		t.Fatalf("before truncation: %+v", rep)
	}

	last := int64(len(evs))
	tamper(t, s, `DELETE FROM procedure_events WHERE reference = $1 AND position = $2`, a, last)
	tamper(t, s, `UPDATE audit_heads h SET position = e.position, hash = e.hash FROM procedure_events e
WHERE h.reference = $1 AND e.reference = h.reference AND e.position = $2`, a, last-1)
	rep := verify(t, s, a)
	if rep.Break == nil || rep.Break.Position != last || !strings.Contains(rep.Break.Problem, "anchor 2 recorded position") {
		t.Errorf("truncation after the anchor: %+v", rep.Break)
	}

	// Changing an anchored head changes the root of its anchor.
	tamper(t, s, `UPDATE audit_anchor_heads SET position = position - 1 WHERE reference = $1 AND anchor_id = 2`, a)
	if _, problem, err := s.VerifyAuditAnchors(ctx); err != nil || !strings.Contains(problem, "anchor 2 root") {
		t.Errorf("changed anchored head: %q, %v", problem, err)
	}
}

// Appends of one application from several transactions at once take turns
// on the chain's head: the chain stays linear.
func TestAuditChainConcurrentAppends(t *testing.T) {
	s, _ := storetest.New(t)
	const ref = "BA-2025-0300"
	evs := storetest.Lifecycle(ref)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range 6 {
				i := r.IntN(len(evs))
				j := min(len(evs), i+1+r.IntN(4))
				batch := append([]*events.ProcedureEvent(nil), evs[i:j]...)
				if _, err := s.ApplyEvents(context.Background(), batch); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	apply(t, s, evs...)
	rep := verify(t, s, ref)
	if !rep.OK() || rep.Entries != int64(len(evs)) {
		t.Fatalf("after concurrent appends: %+v", rep)
	}
}
