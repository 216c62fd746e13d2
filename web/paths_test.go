package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/workflows/contract"
)

// TestCitizenChecksStatus: a citizen submits through the portal (Kafka),
// then checks the status on the page: a wrong code first, then the right
// one, in German and in English.
func TestCitizenChecksStatus(t *testing.T) {
	e := setup(t)
	rc := e2e.SubmitAwaiting(t, e.dev, e2e.ReadSubmission(t, "../examples/anwohnerparken.json"), "in-review")

	b := e.newTab(t)
	b.open("/status")
	b.axe("/status")
	b.shot("status-form")

	// Empty fields: errors next to them.
	b.submit(`form[action="/status"] button[type="submit"]`, `#reference-error`)
	if got := b.eval(`document.getElementById("reference").getAttribute("aria-describedby")`); !strings.Contains(got, "reference-error") {
		t.Errorf("the reference field is not described by its error: %q", got)
	}
	b.axe("/status with field errors")

	// A wrong code: the same answer as for an unknown reference.
	b.do("fill wrong code",
		chromedp.SetValue(chromedp.CSS(`#reference`), rc.Reference),
		chromedp.SetValue(chromedp.CSS(`#code`), "WRNG-CODE-XXXX"))
	b.submit(`form[action="/status"] button[type="submit"]`, `.alert`)
	if got := b.text(`.alert`); !strings.Contains(got, "keinen Antrag gefunden") {
		t.Errorf("wrong code answer: %q", got)
	}
	if v := b.eval(`document.getElementById("code").value`); v != "" {
		t.Errorf("the failed code is shown again in the form: %q", v)
	}
	b.axe("/status not found")
	b.shot("status-not-found")

	b.do("fill right code",
		chromedp.SetValue(chromedp.CSS(`#reference`), rc.Reference),
		chromedp.SetValue(chromedp.CSS(`#code`), strings.ToLower(rc.AccessCode)))
	b.submit(`form[action="/status"] button[type="submit"]`, `ol.progress`)
	if loc := b.eval(`location.href`); strings.Contains(loc, "code") || strings.Contains(strings.ToUpper(strings.ReplaceAll(loc, "-", "")), canonCode(rc.AccessCode)) {
		t.Errorf("the access code is in the URL: %s", loc)
	}
	if got := b.text(`.milestone`); !strings.Contains(got, "In Bearbeitung") {
		t.Errorf("milestone: %q", got)
	}
	if got := b.text(`ol.progress li[aria-current="step"]`); !strings.Contains(got, "In Bearbeitung") {
		t.Errorf("current progress step: %q", got)
	}
	if got := b.eval(`document.querySelectorAll("ol.progress li").length + "/" + document.querySelectorAll("ol.progress li.done, ol.progress li.current").length`); got != "3/2" {
		t.Errorf("progress bar steps (all/reached) = %s, want 3/2", got)
	}
	if got := b.text(`#deadline-title + p`); got == "" {
		t.Errorf("no deadline paragraph")
	}
	if got := b.text(`ol.timeline`); !strings.Contains(got, "Ihr Antrag wird geprüft") {
		t.Errorf("timeline: %q", got)
	}
	if lang := b.eval(`document.documentElement.lang`); lang != "de" {
		t.Errorf("html lang %q", lang)
	}
	b.axe("/status result")
	keep(t, b.shot("status"), "status.png")

	// English: the switch re-sends the form (no code in the URL) and the
	// choice is remembered.
	b.submit(`header form button[lang="en"]`, `ol.progress`)
	if got := b.text(`.milestone`); !strings.Contains(got, "In review") {
		t.Errorf("English milestone: %q", got)
	}
	if lang := b.eval(`document.documentElement.lang`); lang != "en" {
		t.Errorf("html lang %q after switching", lang)
	}
	b.axe("/status result (en)")
	b.shot("status-en")
	b.open("/status")
	if got := b.text(`main h1`); got != "Status of your application" {
		t.Errorf("the language choice is not remembered: %q", got)
	}

	// Same answer for an unknown reference and a wrong code, byte for byte.
	post := func(ref, code string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.dev.APIURL+"/status", strings.NewReader(url.Values{"reference": {ref}, "code": {code}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return fetch(t, req)
	}
	// (The form shows the typed reference again, so that differs.)
	const unknown = "ANWOHNERPARKEN-2026-UNKNOWNREF01"
	c1, b1 := post(rc.Reference, "WRNG-CODE-YYYY")
	c2, b2 := post(unknown, "WRNG-CODE-YYYY")
	b1, b2 = strings.ReplaceAll(b1, rc.Reference, "REF"), strings.ReplaceAll(b2, unknown, "REF")
	if c1 != http.StatusNotFound || c2 != http.StatusNotFound || b1 != b2 {
		t.Errorf("wrong code: %d, unknown reference: %d; bodies equal: %t", c1, c2, b1 == b2)
	}
	// The page shares the API's limits: the reference is locked after five
	// failures (one in the browser, one above, three here).
	for range 3 {
		if c, _ := post(rc.Reference, "WRNG-CODE-ZZZZ"); c != http.StatusNotFound {
			t.Errorf("a wrong code got %d, want 404", c)
		}
	}
	if c, body := post(rc.Reference, rc.AccessCode); c != http.StatusTooManyRequests || !strings.Contains(body, "Zu viele Fehlversuche") {
		t.Errorf("after 5 failures the right code got %d, want 429 with a wait notice", c)
	}
	req, _ := http.NewRequest(http.MethodGet, e.dev.APIURL+"/api/v1/status/"+rc.Reference, nil)
	req.Header.Set("X-Access-Code", rc.AccessCode)
	if c, _ := fetch(t, req); c != http.StatusTooManyRequests {
		t.Errorf("the API answered %d after the page's failures, want 429: the two do not share their limits", c)
	}
}

// canonCode canonicalises an access code as it might appear in a URL.
func canonCode(code string) string { return strings.ReplaceAll(strings.ToUpper(code), "-", "") }

// TestClerkCompletesTask: a clerk signs in with the dev sign-in, sees the
// worklist update when another clerk acts, claims a task, gets a
// validation error next to the field, then completes it.
func TestClerkCompletesTask(t *testing.T) {
	e := setup(t)
	rc := e2e.SubmitAwaiting(t, e.dev, e2e.ReadSubmission(t, "../examples/anwohnerparken.json"), "in-review")
	other := e2e.SubmitAwaiting(t, e.dev, e2e.ReadSubmission(t, "../examples/anwohnerparken.json"), "in-review")
	task := openTaskOf(t, e, "stadt-erfurt", "sachbearbeitung", rc.Reference)
	otherTask := openTaskOf(t, e, "stadt-erfurt", "sachbearbeitung", other.Reference)

	// Pages need a session: plain HTTP is sent to the sign-in page.
	req, _ := http.NewRequest(http.MethodGet, e.dev.APIURL+"/inbox", nil)
	if c, _ := fetch(t, req); c != http.StatusSeeOther {
		t.Errorf("GET /inbox without session: %d, want 303 to the sign-in", c)
	}

	b := e.newTab(t)
	b.open("/inbox")
	b.do("sign-in page", chromedp.WaitVisible(chromedp.CSS(`#subject`)))
	b.axe("/inbox/login")
	keep(t, b.shot("login"), "login.png")
	b.signIn("anna.schmidt", "Anna Schmidt", "sachbearbeitung")
	b.do("worklist", chromedp.WaitVisible(chromedp.CSS(`tr[data-task="`+task.ID+`"]`)))
	if c := b.eval(`document.cookie`); strings.Contains(c, "amtsweg_session") {
		t.Errorf("the session cookie is readable by scripts: %q", c)
	}
	b.axe("/inbox")

	// Another clerk claims a task: the list shows it without a reload.
	b.eval(`window.__sameDocument = "yes"; "ok"`)
	pc, err := e.dev.Stack.Procedures(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bernd := contract.Actor{Subject: "bernd.meier", Tenant: "stadt-erfurt", Roles: []string{"sachbearbeitung"}}
	if _, err := pc.Claim(context.Background(), other.Reference, contract.TaskRequest{TaskID: otherTask.ID, Actor: bernd}); err != nil {
		t.Fatalf("claim by another clerk: %v", err)
	}
	b.do("live update", chromedp.WaitVisible(chromedp.CSS(`tr[data-task="`+otherTask.ID+`"] .status-claimed`)))
	if got := b.eval(`window.__sameDocument || "reloaded"`); got != "yes" {
		t.Errorf("the page was reloaded for the update")
	}
	if got := b.text(`tr[data-task="` + otherTask.ID + `"]`); !strings.Contains(got, "bernd.meier") {
		t.Errorf("updated row: %q", got)
	}
	keep(t, b.shot("inbox"), "inbox.png")

	// Open the task, claim it.
	b.submit(`tr[data-task="`+task.ID+`"] a`, `form[action$="/claim"]`)
	if got := b.text(`main`); !strings.Contains(got, "EF-EM 2026") || !strings.Contains(got, "Erika Mustermann") {
		t.Errorf("the task page lacks the application data: %q", got)
	}
	b.axe("/inbox/tasks/{id}")
	b.submit(`form[action$="/claim"] button`, `#task-form`)
	if got := b.text(`.flash`); !strings.Contains(got, "übernommen") {
		t.Errorf("after claim: %q", got)
	}
	// Release and claim again; delegating needs exactly one target.
	b.submit(`form[action$="/release"] button`, `form[action$="/claim"]`)
	if got := b.text(`.flash`); !strings.Contains(got, "zurückgegeben") {
		t.Errorf("after release: %q", got)
	}
	b.do("open delegate", chromedp.Click(chromedp.CSS(`details.delegate summary`)))
	b.submit(`form[action$="/delegate"] button`, `#delegate-error`)
	if got := b.eval(`document.getElementById("delegate-user").getAttribute("aria-describedby")`); !strings.Contains(got, "delegate-error") {
		t.Errorf("the delegate field is not described by its error: %q", got)
	}
	b.axe("/inbox/tasks/{id} delegate error")
	b.submit(`form[action$="/claim"] button`, `#task-form`)
	// The application data is labelled by the application schema's
	// titles, not by its keys.
	if got := b.text(`main`); !strings.Contains(got, "Kfz-Kennzeichen") || strings.Contains(got, "licensePlate") {
		t.Errorf("the case file shows the application's keys instead of their titles: %q", got)
	}

	// Complete without the required decision: the procedure refuses, and
	// the error shows next to the field.
	b.submit(`#task-form button[type="submit"]`, `.error-summary`)
	fieldErr := b.text(`.field.invalid .error`)
	if !strings.Contains(fieldErr, "Bitte füllen Sie dieses Feld aus") {
		t.Errorf("field error: %q", fieldErr)
	}
	described := b.eval(`(() => { const f = document.querySelector(".field.invalid fieldset"); const e = document.querySelector(".field.invalid .error"); return f && e && f.getAttribute("aria-describedby").split(" ").includes(e.id) ? "yes" : "no" })()`)
	if described != "yes" {
		t.Errorf("the field's error is not tied to it with aria-describedby")
	}
	if got := b.text(`.field.invalid legend`); !strings.Contains(got, "Ausweis wird erteilt") {
		t.Errorf("the error is not at the decision field but at %q", got)
	}
	b.axe("/inbox/tasks/{id} with a validation error")
	keep(t, b.shot("task-validation-error"), "task-error.png")

	// Now decide and complete.
	b.do("decide",
		chromedp.Click(chromedp.CSS(`.field.invalid input[value="true"]`)),
		chromedp.SetValue(chromedp.CSS(`textarea[name="field.reason"]`), "Voraussetzungen erfüllt."))
	b.submit(`#task-form button[type="submit"]`, `.flash`)
	if got := b.text(`.flash`); !strings.Contains(got, "ist erledigt") {
		t.Errorf("after completion: %q", got)
	}
	if loc := b.eval(`location.pathname`); loc != "/inbox" {
		t.Errorf("after completion at %s, want the inbox", loc)
	}
	b.axe("/inbox after completion")
	st, err := e.dev.Stack.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, err := st.ApplicationStatus(context.Background(), rc.Reference)
		if err == nil && s.Outcome != nil {
			if s.Outcome.ID != "issued" {
				t.Errorf("outcome %s, want issued", s.Outcome.ID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the application did not end after the clerk's decision")
		}
		time.Sleep(100 * time.Millisecond)
	}
	done, err := st.Task(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	var decided struct {
		Approved bool   `json:"approved"`
		Reason   string `json:"reason"`
	}
	_ = json.Unmarshal(done.Data, &decided)
	if done.Status != "completed" || done.CompletedBy != "anna.schmidt" || !decided.Approved || decided.Reason != "Voraussetzungen erfüllt." {
		t.Errorf("completed task: status %s by %s data %s", done.Status, done.CompletedBy, done.Data)
	}

	// The completed task shows what was decided.
	b.open("/inbox/tasks/" + task.ID)
	if got := b.text(`#form-title + p`); !regexp.MustCompile(`Erledigt von anna\.schmidt`).MatchString(got) {
		t.Errorf("completed task page: %q", got)
	}
	b.axe("/inbox/tasks/{id} completed")
}

// TestDesignerDeploys: a designer uploads a broken definition (errors at
// their lines), then a valid one, and deploys it.
func TestDesignerDeploys(t *testing.T) {
	e := setup(t)
	src, err := os.ReadFile("../definitions/procedures/anwohnerparken.yaml")
	if err != nil {
		t.Fatal(err)
	}
	valid := strings.Replace(string(src), "key: anwohnerparken\n", "key: anwohnerparken-test\n", 1)
	valid = strings.Replace(valid, "version: 1.0.1\n", "version: 1.1.0\n", 1)
	if valid == string(src) {
		t.Fatal("the test could not rename the definition")
	}
	// Broken: a step that goes nowhere, and a role nobody declared.
	broken := strings.Replace(valid, "    next: decide\n", "    next: nirgendwo\n", 1)
	broken = strings.Replace(broken, "    role: sachbearbeitung\n", "    role: unbekannt\n", 1)
	wantLines := map[int]bool{}
	for i, l := range strings.Split(broken, "\n") {
		if strings.Contains(l, "nirgendwo") || strings.Contains(l, "unbekannt") {
			wantLines[i+1] = true
		}
	}
	dir := t.TempDir()
	brokenPath, validPath := dir+"/anwohnerparken-test-broken.yaml", dir+"/anwohnerparken-test.yaml"
	if err := os.WriteFile(brokenPath, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(validPath, []byte(valid), 0o644); err != nil {
		t.Fatal(err)
	}

	b := e.newTab(t)
	b.open("/designer")
	b.signIn("dora.design", "Dora Design", "designer")
	b.do("designer page", chromedp.WaitVisible(chromedp.CSS(`a[href="/designer/definitions/anwohnerparken/1.0.1"]`)))
	b.axe("/designer")
	keep(t, b.shot("designer"), "designer.png")

	b.submit(`a[href="/designer/upload"]`, `#definition`)
	b.axe("/designer/upload")
	b.do("choose broken file", chromedp.SetUploadFiles(chromedp.CSS(`#definition`), []string{brokenPath}))
	b.submit(`button[value="check"]`, `.def-errors`)
	marked := b.eval(`Array.from(document.querySelectorAll("ol.source li.bad")).map(li => li.id).join(",")`)
	for line := range wantLines {
		if !strings.Contains(","+marked+",", ",L"+strconv.Itoa(line)+",") {
			t.Errorf("line %d is not marked; marked lines: %s", line, marked)
		}
	}
	if got := b.text(`.def-errors`); !strings.Contains(got, "nirgendwo") || !strings.Contains(got, "unbekannt") || !strings.Contains(got, "Zeile") {
		t.Errorf("error list: %q", got)
	}
	b.axe("/designer/upload with errors")
	keep(t, b.shot("upload-errors"), "designer-errors.png")

	b.do("choose valid file", chromedp.SetUploadFiles(chromedp.CSS(`#definition`), []string{validPath}))
	b.submit(`button[value="check"]`, `form[action="/designer/deploy"]`)
	if got := b.eval(`document.querySelector(".diagram svg") ? "svg" : "none"`); got != "svg" {
		t.Errorf("no diagram preview")
	}
	b.axe("/designer/upload valid")
	b.submit(`form[action="/designer/deploy"] button`, `.diagram svg`)
	if got := b.text(`.flash`); !strings.Contains(got, "1.1.0") || !strings.Contains(got, "bereitgestellt") {
		t.Errorf("after deploy: %q", got)
	}
	if loc := b.eval(`location.pathname`); loc != "/designer/definitions/anwohnerparken-test/1.1.0" {
		t.Errorf("after deploy at %s", loc)
	}
	b.axe("/designer/definitions/{key}/{version}")
	keep(t, b.shot("definition"), "definition.png")

	st, err := e.dev.Stack.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.Definition(context.Background(), "anwohnerparken-test", "1.1.0")
	if err != nil {
		t.Fatalf("the deployed definition is not stored: %v", err)
	}
	if rec.DeployedBy != "dora.design" {
		t.Errorf("deployed by %q", rec.DeployedBy)
	}
	b.open("/designer")
	if got := b.text(`main`); !strings.Contains(got, "anwohnerparken-test") {
		t.Errorf("the designer list lacks the new definition")
	}
}

// TestOperatorCancels: an operator sees procedures by status and cancels
// one (after being asked to confirm). A clerk is refused the page.
func TestOperatorCancels(t *testing.T) {
	e := setup(t)
	rc := e2e.SubmitAwaiting(t, e.dev, e2e.ReadSubmission(t, "../examples/anwohnerparken.json"), "in-review")
	// A migration run's progress is listed (amtsweg definitions migrate
	// records it).
	ms, err := e.dev.Stack.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms.BeginMigrationRun(context.Background(), store.MigrationRun{PlanID: "parken-1-to-2", Procedure: "anwohnerparken",
		SourceVersion: "1.0.0", TargetVersion: "1.1.0", PlanSHA256: "test", StartedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := ms.RecordMigrationItem(context.Background(), "parken-1-to-2", store.MigrationItem{Reference: rc.Reference, Status: store.MigrationMoved}); err != nil {
		t.Fatal(err)
	}

	clerk := e.newTab(t)
	clerk.open("/operator")
	clerk.signIn("carl.clerk", "Carl Clerk", "sachbearbeitung")
	if got := clerk.text(`main h1`); got != "Keine Berechtigung" {
		t.Errorf("a clerk on /operator sees %q", got)
	}

	b := e.newTab(t)
	b.open("/operator")
	b.signIn("otto.operator", "Otto Operator", "operator")
	b.do("operator page", chromedp.WaitVisible(chromedp.CSS(`.counts`)))
	if got := b.text(`section[aria-labelledby="migrations-title"]`); !strings.Contains(got, "parken-1-to-2") || !strings.Contains(got, "läuft: 1 umgestellt, 0 vorgemerkt") {
		t.Errorf("migrations on the operator page: %q", got)
	}
	b.axe("/operator")
	keep(t, b.shot("operator"), "operator.png")

	form := `form[action="/operator/applications/` + rc.Reference + `/cancel"]`
	b.submit(form+` button`, `.alert`)
	if got := b.text(`.alert`); !strings.Contains(got, "bestätigen") {
		t.Errorf("cancel without confirmation: %q", got)
	}
	b.axe("/operator with error")
	b.do("confirm", chromedp.Click(chromedp.CSS(form+` input[name="confirm"]`)))
	b.submit(form+` button`, `.flash`)
	if got := b.text(`.flash`); !strings.Contains(got, rc.Reference) {
		t.Errorf("after cancel: %q", got)
	}
	st, err := e.dev.Stack.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, err := st.ApplicationStatus(context.Background(), rc.Reference)
		if err == nil && s.State == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled application did not end")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// keep copies a screenshot to docs/screenshots/name for the README when
// AMTSWEG_UPDATE_SCREENSHOTS is set.
func keep(t *testing.T, path, name string) {
	t.Helper()
	if os.Getenv("AMTSWEG_UPDATE_SCREENSHOTS") == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("../docs/screenshots", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../docs/screenshots/"+name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestApprovalShowsWhatIsApproved: under the four-eyes rule the approval
// task shows the first clerk's entries; the first clerk may not approve,
// the head of office does.
func TestApprovalShowsWhatIsApproved(t *testing.T) {
	e := setup(t)
	rc := e2e.SubmitAwaiting(t, e.dev, e2e.ReadSubmission(t, "../examples/gewerbeanmeldung.json"), "in-pruefung")
	pc, err := e.dev.Stack.Procedures(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Both clerks hold both roles, so only the four-eyes rule can stop the
	// first one.
	clerk := contract.Actor{Subject: "gina.gewerbe", Tenant: "stadt-erfurt", Roles: []string{"gewerbeamt", "sachgebietsleitung"}}
	var done []string
	complete := func(role, data string) {
		t.Helper()
		tk := openTaskOf(t, e, "stadt-erfurt", role, rc.Reference, done...)
		done = append(done, tk.ID)
		ctx := context.Background()
		if _, err := pc.Claim(ctx, rc.Reference, contract.TaskRequest{TaskID: tk.ID, Actor: clerk}); err != nil {
			t.Fatalf("claim %s: %v", tk.ID, err)
		}
		if _, err := pc.Complete(ctx, rc.Reference, contract.CompleteRequest{TaskID: tk.ID, Actor: clerk, Data: json.RawMessage(data)}); err != nil {
			t.Fatalf("complete %s: %v", tk.ID, err)
		}
	}
	complete("gewerbeamt", `{"vollstaendig": true, "erlaubnispflichtig": true}`)
	complete("gewerbeamt", `{"erlaubnisLiegtVor": true, "begruendung": "Meisterbrief vom 3. Mai 2019 liegt vor."}`)
	approval := openTaskOf(t, e, "stadt-erfurt", "sachgebietsleitung", rc.Reference, done...)
	if !approval.Approval {
		t.Fatalf("task %s is not an approval task", approval.ID)
	}

	first := e.newTab(t)
	first.open("/inbox/tasks/" + approval.ID)
	first.signIn("gina.gewerbe", "Gina Gewerbe", "gewerbeamt", "sachgebietsleitung")
	first.submit(`form[action$="/claim"] button`, `.alert`)
	if got := first.text(`.alert`); !strings.Contains(got, "Vier-Augen-Prinzip") {
		t.Errorf("the first clerk claiming the approval: %q", got)
	}

	b := e.newTab(t)
	b.open("/inbox?role=sachgebietsleitung")
	b.signIn("lena.leitung", "Lena Leitung", "sachgebietsleitung")
	b.submit(`tr[data-task="`+approval.ID+`"] a`, `.approval`)
	got := b.text(`.approval`)
	for _, want := range []string{"gina.gewerbe", "Gültige Erlaubnis liegt vor", "Ja", "Meisterbrief vom 3. Mai 2019 liegt vor."} {
		if !strings.Contains(got, want) {
			t.Errorf("the approval view lacks %q: %q", want, got)
		}
	}
	b.axe("/inbox/tasks/{id} approval")
	b.submit(`form[action$="/claim"] button`, `#task-form`)
	keep(t, b.shot("approval"), "approval.png")
	b.do("approve", chromedp.Click(chromedp.CSS(`#task-form input[name="field.approved"][value="true"]`)))
	b.submit(`#task-form button[type="submit"]`, `.flash`)
	st, err := e.dev.Stack.Store(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	approved, err := st.Task(context.Background(), approval.ID)
	if err != nil {
		t.Fatal(err)
	}
	if approved.Status != "completed" || approved.CompletedBy != "lena.leitung" {
		t.Errorf("approval task after approving: %s by %s", approved.Status, approved.CompletedBy)
	}
}

// TestClerkReadsTheEFile: the task page lists the documents the procedure
// filed in the e-file (here the receipt confirmation the building permit
// files first, efile.store) and the clerk downloads one; both go through
// the efile plugin's activities (efile.list, efile.get), not its files.
// A document the e-file does not hold is not found.
func TestClerkReadsTheEFile(t *testing.T) {
	e := setup(t)
	sub := e2e.ReadSubmission(t, "../examples/bauantrag.json")
	sub.Tenant = "stadt-erfurt" // the dev sign-in's authority
	rc := e2e.Submit(t, e.dev.Brokers, sub)
	task := e2e.OpenTask(t, e.dev, rc.Reference)

	b := e.newTab(t)
	b.open("/inbox/tasks/" + task.ID)
	b.signIn("carl.clerk", "Carl Clerk", task.Role)
	b.do("documents", chromedp.WaitVisible(chromedp.CSS(`a[href*="/documents/"]`)))
	if got := b.text(`a[href*="/documents/"]`); !strings.HasPrefix(got, "Eingangsbestaetigung-") {
		t.Fatalf("the e-file lists %q, want the receipt confirmation", got)
	}
	// The download, as the browser fetches it with the clerk's session.
	get := func(href string) string {
		return b.eval(`(() => { const x = new XMLHttpRequest(); x.open("GET", ` + strconv.Quote(href) + `, false); x.send();
			return x.status + "\n" + x.getResponseHeader("Content-Type") + "\n" + x.responseText })()`)
	}
	href := b.eval(`document.querySelector('a[href*="/documents/"]').getAttribute("href")`)
	got := get(href)
	if !strings.HasPrefix(got, "200\napplication/xml\n<") || !strings.Contains(got, rc.Reference) {
		t.Errorf("download of %s: %.300s", href, got)
	}
	if got := get("/inbox/tasks/" + task.ID + "/documents/doc-not-there"); !strings.HasPrefix(got, "404\n") {
		t.Errorf("a document the e-file does not hold: %.200s", got)
	}
}

// TestDesignerDryRunsAMigration: a designer uploads a migration plan with
// a wrong step (errors at their lines), then a right one, and sees which
// running procedures of the authority it would move; nothing moves.
func TestDesignerDryRunsAMigration(t *testing.T) {
	e := setup(t)
	rc := e2e.SubmitAwaiting(t, e.dev, e2e.ReadSubmission(t, "../examples/anwohnerparken.json"), "in-review")
	ctx := context.Background()
	st, err := e.dev.Stack.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../definitions/procedures/anwohnerparken.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// 1.0.2 renames the clerk's review step; it applies to no new
	// application (validFrom far ahead), only to moved ones.
	target := strings.NewReplacer("version: 1.0.1\n", "version: 1.0.2\n", `validFrom: "2024-01-01"`, `validFrom: "2099-01-01"`,
		"id: review\n", "id: pruefen\n", "next: review\n", "next: pruefen\n").Replace(string(src))
	if !strings.Contains(target, "id: pruefen") || !strings.Contains(target, "2099-01-01") {
		t.Fatal("the test could not derive version 1.0.2")
	}
	if _, err := (&registry.Deployer{Store: st}).Deploy(ctx, "anwohnerparken-1.0.2.yaml", []byte(target), "test"); err != nil {
		t.Fatalf("deploy 1.0.2: %v", err)
	}
	plan := "kind: MigrationPlan\nid: parken-1.0.1-to-1.0.2\nsource: { key: anwohnerparken, version: 1.0.1 }\ntarget: { version: 1.0.2 }\nsteps:\n  review: pruefen\ntasks: keep\ntimers: keep\n"
	broken := strings.Replace(plan, "review: pruefen", "review: nirgendwo", 1)
	dir := t.TempDir()
	planPath, brokenPath := dir+"/parken.yaml", dir+"/parken-broken.yaml"
	if err := os.WriteFile(planPath, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(brokenPath, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}

	b := e.newTab(t)
	b.open("/designer/migrations")
	b.signIn("dora.design", "Dora Design", "designer")
	b.do("migration page", chromedp.WaitVisible(chromedp.CSS(`#plan`)))
	b.axe("/designer/migrations")

	b.do("choose broken plan", chromedp.SetUploadFiles(chromedp.CSS(`#plan`), []string{brokenPath}))
	b.submit(`form[action="/designer/migrations"] button`, `.def-errors`)
	if got := b.text(`.def-errors`); !strings.Contains(got, "nirgendwo") || !strings.Contains(got, "Zeile 6") {
		t.Errorf("error list: %q", got)
	}
	if marked := b.eval(`Array.from(document.querySelectorAll("ol.source li.bad")).map(li => li.id).join(",")`); marked != "L6" {
		t.Errorf("marked lines %q, want L6", marked)
	}
	b.axe("/designer/migrations with errors")

	b.do("choose plan", chromedp.SetUploadFiles(chromedp.CSS(`#plan`), []string{planPath}))
	b.submit(`form[action="/designer/migrations"] button`, `#dry-run-summary`)
	if got := b.text(`#move`); !strings.Contains(got, rc.Reference) || !strings.Contains(got, "pruefen") || !strings.Contains(got, "sofort") {
		t.Errorf("would move: %q", got)
	}
	// Other tests of the package share the stack: other running permits
	// may be listed too; the summary counts what the table lists.
	rows := b.eval(`String(document.querySelectorAll("#move tbody tr").length)`)
	if got := b.text(`#dry-run-summary`); !strings.Contains(got, ": "+rows+" Verfahren würden umgestellt, 0 nicht") {
		t.Errorf("summary %q, with %s rows listed", got, rows)
	}
	b.axe("/designer/migrations dry run")

	// A dry run changes nothing: the procedure still runs on 1.0.1 at review.
	c, err := e.dev.Stack.Temporal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.QueryWorkflow(ctx, contract.WorkflowID(rc.Reference), "", contract.QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var sv contract.StateView
	if err := v.Get(&sv); err != nil || sv.Definition.Version != "1.0.1" || sv.At != "review" {
		t.Errorf("after the dry run the procedure is at %+v (%v), want 1.0.1 at review", sv.Definition, err)
	}

	// A clerk is refused the page.
	clerk := e.newTab(t)
	clerk.open("/designer/migrations")
	clerk.signIn("carl.clerk", "Carl Clerk", "sachbearbeitung")
	if got := clerk.text(`main h1`); got != "Keine Berechtigung" {
		t.Errorf("a clerk on /designer/migrations sees %q", got)
	}
}
