package procedures

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/amtsweg/amtsweg/activities/builtin"
	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/bundled"
	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// standardCatalog describes the activities every installation offers and
// bundled procedures may therefore call: the built-in plugin "amtsweg" and
// the bundled plugins efile, fees, melderegister, notify and xbau, as they describe
// themselves.
func standardCatalog(t *testing.T) definitions.Activities {
	t.Helper()
	builtin, err := builtin.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ps := []plugins.InProcess{builtin}
	for _, name := range []string{"efile", "fees", "melderegister", "notify", "xbau"} {
		t.Setenv("AMTSWEG_DATA_DIR", filepath.Join(t.TempDir(), name))
		t.Setenv("AMTSWEG_NOTIFY_TRANSPORT", "file")
		t.Setenv("AMTSWEG_NOTIFY_FROM", "Bauaufsicht <bauaufsicht@lra.example>")
		p, err := bundled.Plugin(name)
		if err != nil {
			t.Fatal(err)
		}
		ip, err := sdk.InProcess(p)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, ip)
	}
	cat := definitions.Activities{}
	for _, p := range ps {
		m, err := p.Describe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range m.Activities {
			cat[a.FullName()] = definitions.ActivitySchemas{Input: a.Input, Output: a.Output}
		}
	}
	return cat
}

func TestBundledProceduresAreValid(t *testing.T) {
	builtins := standardCatalog(t)
	ps, err := Load(definitions.ValidateOptions{Activities: builtins})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(Files()) || !slices.Contains(Files(), "gewerbeanmeldung.yaml") {
		t.Fatalf("loaded %d of %v", len(ps), Files())
	}
	// One key may ship in several versions (bauantrag 1.0.0 and 2.0.0), so
	// that instances of the older version keep it; key and version are
	// unique.
	keys := map[string]bool{}
	for _, p := range ps {
		kv := p.Key + " " + p.Version
		if keys[kv] {
			t.Errorf("two bundled procedures are %s", kv)
		}
		keys[kv] = true
		// Every bundled procedure names the record class of its files and
		// how long they are kept, with its basis (#17): a version without
		// it would never be erased.
		if r := p.Retention; r == nil || r.Class == "" || r.Basis == "" || (r.Years == 0 && !r.Permanent) {
			t.Errorf("%s %s: no retention (record class, years or permanent, basis): %+v", p.Key, p.Version, r)
		}
		for _, st := range p.Steps {
			if st.Type == definitions.StepService {
				if _, _, ok := builtins.Lookup(st.Activity); !ok {
					t.Errorf("%s: step %s calls %s; bundled procedures may only call built-in and bundled plugin activities", p.Key, st.ID, st.Activity)
				}
			}
		}
	}
	if _, err := All(); err != nil {
		t.Fatal(err)
	}
}

// TestGewerbeanmeldung checks the business registration's shape: the
// constructs the issue asks for are there.
func TestGewerbeanmeldung(t *testing.T) {
	src, err := FS.ReadFile("gewerbeanmeldung.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := definitions.Load("gewerbeanmeldung.yaml", src, definitions.ValidateOptions{Activities: standardCatalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]definitions.Step{}
	for _, st := range p.Steps {
		byID[st.ID] = st
	}
	check := byID["vollstaendigkeit"]
	if check.Type != definitions.StepTask || check.Role != "gewerbeamt" || check.Due == "" {
		t.Errorf("completeness check: %+v", check)
	}
	wait := byID["unterlagen-anfordern"]
	if wait.Type != definitions.StepWait || wait.Deadline != "P2W" || byID[wait.OnExpiry].Outcome != "withdrawn" || len(wait.PauseClocks) == 0 {
		t.Errorf("wait for documents: %+v", wait)
	}
	if byID["mitteilungen"].Type != definitions.StepParallel || len(byID["mitteilungen"].Branches) < 2 {
		t.Errorf("notifications: %+v", byID["mitteilungen"])
	}
	outcomes := map[string]bool{}
	for _, st := range p.Steps {
		if st.Type == definitions.StepEnd {
			outcomes[st.Outcome] = true
		}
	}
	for _, o := range []string{"registered", "rejected", "withdrawn"} {
		if !outcomes[o] {
			t.Errorf("no end with outcome %q", o)
		}
	}
	for _, m := range p.Milestones {
		if m.Title.De == "" || m.Title.En == "" {
			t.Errorf("milestone %s lacks a German or English title", m.ID)
		}
	}
}
