package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/definitions/calendar"
)

// langCookie remembers the chosen language.
const langCookie = "amtsweg_lang"

// messages are the pages' texts: key -> [German, English].
var messages = map[string][2]string{
	"site":                            {"Amtsweg", "Amtsweg"},
	"skip":                            {"Zum Inhalt springen", "Skip to content"},
	"nav.label":                       {"Hauptnavigation", "Main navigation"},
	"nav.home":                        {"Start", "Home"},
	"nav.status":                      {"Antragsstatus", "Application status"},
	"nav.inbox":                       {"Posteingang", "Inbox"},
	"nav.designer":                    {"Verfahrensdesign", "Procedure design"},
	"nav.operator":                    {"Betrieb", "Operations"},
	"lang.switch":                     {"English", "Deutsch"},
	"lang.switch.label":               {"Switch to English", "Auf Deutsch umschalten"},
	"signed.in.as":                    {"Angemeldet als %s (%s)", "Signed in as %s (%s)"},
	"logout":                          {"Abmelden", "Sign out"},
	"footer":                          {"Amtsweg – Verwaltungsverfahren digital", "Amtsweg – administrative procedures, digital"},
	"required":                        {"Pflichtfeld", "required"},
	"yes":                             {"Ja", "Yes"},
	"no":                              {"Nein", "No"},
	"none":                            {"keine Angabe", "not given"},
	"error.title":                     {"Fehler", "Error"},
	"errors.summary":                  {"Bitte korrigieren Sie die folgenden Angaben:", "Please correct the following:"},
	"field.required":                  {"Bitte füllen Sie dieses Feld aus.", "Please fill in this field."},
	"form.range":                      {"Zahl von %s bis %s.", "A number from %s to %s."},
	"form.min":                        {"Zahl ab %s.", "A number of at least %s."},
	"form.max":                        {"Zahl bis %s.", "A number of at most %s."},
	"field.invalid":                   {"Ungültige Angabe: %s", "Invalid value: %s"},
	"notfound.title":                  {"Seite nicht gefunden", "Page not found"},
	"notfound.text":                   {"Diese Seite gibt es nicht.", "There is no such page."},
	"forbidden.title":                 {"Keine Berechtigung", "Not permitted"},
	"forbidden.text":                  {"Für diese Seite brauchen Sie die Rolle „%s“. Ihre Rollen: %s. Wenden Sie sich an die Administration Ihrer Behörde.", "This page needs the role “%s”. Your roles: %s. Ask your authority's administrators."},
	"unavailable.title":               {"Vorübergehend nicht verfügbar", "Temporarily unavailable"},
	"unavailable.text":                {"Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Minuten erneut.", "The service cannot be reached right now. Please try again in a few minutes."},
	"csrf.title":                      {"Formular abgelaufen", "Form expired"},
	"csrf.text":                       {"Das Formular gehört nicht zu Ihrer aktuellen Sitzung. Laden Sie die Seite neu und senden Sie es noch einmal.", "The form does not belong to your current session. Reload the page and send it again."},
	"home.title":                      {"Amtsweg", "Amtsweg"},
	"home.intro":                      {"Digitale Verwaltungsverfahren: Anträge verfolgen, bearbeiten, gestalten und betreiben.", "Digital administrative procedures: track, work on, design and run applications."},
	"home.status":                     {"Den Stand Ihres Antrags abfragen – mit Aktenzeichen und Zugangscode.", "Check the status of your application with its reference and access code."},
	"home.inbox":                      {"Aufgaben bearbeiten (für Beschäftigte der Behörde).", "Work on tasks (for the authority's staff)."},
	"home.designer":                   {"Verfahrensdefinitionen hochladen, prüfen und bereitstellen.", "Upload, check and deploy procedure definitions."},
	"home.operator":                   {"Laufende Verfahren, Störungen, Wiederholen und Abbrechen.", "Running procedures, incidents, retry and cancel."},
	"status.title":                    {"Stand Ihres Antrags", "Status of your application"},
	"status.intro":                    {"Geben Sie das Aktenzeichen und den Zugangscode aus Ihrer Eingangsbestätigung ein.", "Enter the reference and the access code from your confirmation of receipt."},
	"status.reference":                {"Aktenzeichen (Vorgangsnummer)", "Reference"},
	"status.reference.hint":           {"So wie in Ihrer Eingangsbestätigung, z. B. ANWOHNERPARKEN-2026-7K3M9QXZ4T2B.", "As on your confirmation of receipt, e.g. ANWOHNERPARKEN-2026-7K3M9QXZ4T2B."},
	"status.code":                     {"Zugangscode", "Access code"},
	"status.code.hint":                {"Steht in Ihrer Eingangsbestätigung. Groß- und Kleinschreibung, Leerzeichen und Bindestriche spielen keine Rolle.", "Printed on your confirmation of receipt. Case, spaces and hyphens do not matter."},
	"status.submit":                   {"Stand abfragen", "Check status"},
	"status.notfound":                 {"Zu diesem Aktenzeichen und Zugangscode haben wir keinen Antrag gefunden. Bitte prüfen Sie beide Angaben in Ihrer Eingangsbestätigung.", "We found no application with this reference and access code. Please check both in your confirmation of receipt."},
	"status.toomany":                  {"Zu viele Fehlversuche. Bitte warten Sie %s und prüfen Sie Aktenzeichen und Zugangscode.", "Too many failed attempts. Please wait %s and check the reference and access code."},
	"status.procedure":                {"Verfahren", "Procedure"},
	"status.received":                 {"Eingegangen am", "Received on"},
	"status.progress":                 {"Fortschritt", "Progress"},
	"status.step":                     {"Schritt %d von %d", "Step %d of %d"},
	"status.current":                  {"aktueller Stand", "current stage"},
	"status.done":                     {"erledigt", "done"},
	"status.pending":                  {"noch offen", "pending"},
	"status.deadline":                 {"Nächste Frist", "Next deadline"},
	"status.nodeadline":               {"Zurzeit läuft keine Frist.", "No deadline is running at the moment."},
	"status.requests":                 {"Was wir von Ihnen brauchen", "What we need from you"},
	"status.norequests":               {"Zurzeit brauchen wir nichts von Ihnen.", "We need nothing from you at the moment."},
	"status.due":                      {"bis %s", "by %s"},
	"status.timeline":                 {"Verlauf", "History"},
	"status.outcome":                  {"Ergebnis", "Outcome"},
	"status.running":                  {"Ihr Antrag wird bearbeitet.", "Your application is being processed."},
	"status.another":                  {"Anderen Antrag abfragen", "Check another application"},
	"status.language":                 {"Diese Seite auf Englisch anzeigen", "Show this page in German"},
	"login.title":                     {"Anmeldung", "Sign in"},
	"login.dev.intro":                 {"Entwicklungsumgebung: Die Anmeldung stellt ein Token des Entwicklungs-Identitätsanbieters für den gewählten Benutzer aus. In Produktion meldet man sich beim Identitätsanbieter der Behörde an.", "Development environment: signing in mints a token of the development identity provider for the chosen user. In production you sign in with the authority's identity provider."},
	"login.subject":                   {"Benutzerkennung", "User id"},
	"login.subject.hint":              {"Buchstaben, Ziffern, Punkt, Bindestrich, Unterstrich oder @.", "Letters, digits, dot, hyphen, underscore or @."},
	"login.name":                      {"Anzeigename", "Display name"},
	"login.tenant":                    {"Behörde (Mandant)", "Authority (tenant)"},
	"login.tenant.hint":               {"Zum Beispiel stadt-erfurt.", "For example stadt-erfurt."},
	"login.roles":                     {"Rollen", "Roles"},
	"login.roles.other":               {"Weitere Rollen", "Other roles"},
	"login.roles.other.hint":          {"Durch Leerzeichen getrennt.", "Separated by spaces."},
	"login.submit":                    {"Anmelden", "Sign in"},
	"login.invalid.subject":           {"Bitte geben Sie eine Benutzerkennung aus Buchstaben, Ziffern, Punkt, Bindestrich, Unterstrich oder @ an.", "Enter a user id of letters, digits, dot, hyphen, underscore or @."},
	"login.invalid.tenant":            {"Bitte geben Sie die Behörde an (Buchstaben, Ziffern, Bindestrich).", "Enter the authority (letters, digits, hyphen)."},
	"login.invalid.roles":             {"Bitte wählen Sie mindestens eine Rolle.", "Choose at least one role."},
	"login.expired":                   {"Ihre Sitzung ist abgelaufen oder ungültig. Bitte melden Sie sich neu an.", "Your session has expired or is invalid. Please sign in again."},
	"login.loggedout":                 {"Sie sind abgemeldet.", "You are signed out."},
	"login.oidc":                      {"Sie werden zum Identitätsanbieter Ihrer Behörde weitergeleitet.", "You are being sent to your authority's identity provider."},
	"login.oidc.button":               {"Beim Identitätsanbieter anmelden", "Sign in with the identity provider"},
	"login.unconfigured":              {"Die Anmeldung ist auf diesem Server nicht eingerichtet: Es ist weder der Entwicklungs-Identitätsanbieter (amtsweg dev) noch ein OIDC-Client (Client-ID, Redirect-URL) konfiguriert. Die Betriebsverantwortlichen müssen den OIDC-Client der Behörde eintragen (siehe deploy/README.md).", "Sign-in is not set up on this server: neither the development identity provider (amtsweg dev) nor an OIDC client (client id, redirect URL) is configured. The operators must configure the authority's OIDC client (see deploy/README.md)."},
	"login.failed":                    {"Die Anmeldung beim Identitätsanbieter ist fehlgeschlagen: %s. Bitte versuchen Sie es erneut.", "Signing in with the identity provider failed: %s. Please try again."},
	"inbox.title":                     {"Posteingang", "Inbox"},
	"inbox.filters":                   {"Filter", "Filters"},
	"inbox.role":                      {"Rolle", "Role"},
	"inbox.role.all":                  {"alle meine Rollen", "all my roles"},
	"inbox.status":                    {"Status", "Status"},
	"inbox.status.active":             {"offen oder in Bearbeitung", "open or claimed"},
	"inbox.mine":                      {"nur meine Aufgaben", "only my tasks"},
	"inbox.apply":                     {"Anwenden", "Apply"},
	"inbox.caption":                   {"Aufgaben, nach Frist sortiert", "Tasks, sorted by due date"},
	"inbox.empty":                     {"Keine Aufgaben für diese Auswahl.", "No tasks for this selection."},
	"inbox.more":                      {"Weitere Aufgaben", "More tasks"},
	"inbox.live":                      {"Die Liste aktualisiert sich selbst, wenn sich Aufgaben ändern.", "The list updates itself when tasks change."},
	"inbox.updated":                   {"Liste aktualisiert um %s.", "List updated at %s."},
	"col.task":                        {"Aufgabe", "Task"},
	"col.reference":                   {"Vorgang", "Reference"},
	"col.procedure":                   {"Verfahren", "Procedure"},
	"col.role":                        {"Rolle", "Role"},
	"col.status":                      {"Status", "Status"},
	"col.assignee":                    {"Bearbeitung", "Assignee"},
	"col.due":                         {"Frist", "Due"},
	"task.status.open":                {"offen", "open"},
	"task.status.claimed":             {"in Bearbeitung", "claimed"},
	"task.status.completed":           {"erledigt", "completed"},
	"task.status.cancelled":           {"abgebrochen", "cancelled"},
	"task.overdue":                    {"überfällig", "overdue"},
	"task.escalated":                  {"eskaliert", "escalated"},
	"task.approval":                   {"Freigabe (Vier Augen)", "Approval (four eyes)"},
	"task.nodue":                      {"ohne Frist", "no due date"},
	"task.back":                       {"Zurück zum Posteingang", "Back to the inbox"},
	"task.details":                    {"Aufgabe", "Task"},
	"task.assignee.none":              {"niemand", "nobody"},
	"task.application":                {"Antrag", "Application"},
	"task.applicant":                  {"Antragsteller/in", "Applicant"},
	"task.data":                       {"Antragsdaten", "Application data"},
	"task.documents":                  {"Dokumente der E-Akte", "E-file documents"},
	"task.documents.none":             {"Die E-Akte enthält noch keine Dokumente.", "The e-file has no documents yet."},
	"task.documents.unreachable":      {"Die E-Akte ist von diesem Server aus nicht erreichbar: er hat kein efile-Plugin geladen.", "The e-file cannot be reached from this server: it has no efile plugin loaded."},
	"task.documents.error":            {"Die E-Akte konnte nicht gelesen werden: %s", "The e-file could not be read: %s"},
	"doc.name":                        {"Name", "Name"},
	"doc.kind":                        {"Art", "Kind"},
	"doc.size":                        {"Größe", "Size"},
	"doc.stored":                      {"Abgelegt", "Stored"},
	"doc.kind.document":               {"Dokument", "document"},
	"doc.kind.letter":                 {"Schreiben", "letter"},
	"task.history":                    {"Verlauf (intern und öffentlich)", "History (internal and public)"},
	"task.internal":                   {"intern", "internal"},
	"task.form":                       {"Bearbeitung", "Completion"},
	"task.form.readonly":              {"Übernehmen Sie die Aufgabe, um das Formular auszufüllen.", "Claim the task to fill in the form."},
	"task.form.other":                 {"Diese Aufgabe bearbeitet %s.", "%s is working on this task."},
	"task.form.done":                  {"Erledigt von %s am %s mit diesen Angaben:", "Completed by %s on %s with:"},
	"task.complete":                   {"Erledigen", "Complete"},
	"task.claim":                      {"Übernehmen", "Claim"},
	"task.release":                    {"Zurückgeben", "Release"},
	"task.delegate":                   {"Weitergeben", "Delegate"},
	"task.delegate.user":              {"an Person (Benutzerkennung)", "to a person (user id)"},
	"task.delegate.role":              {"an Rolle", "to a role"},
	"task.delegate.hint":              {"Füllen Sie genau eines der beiden Felder aus.", "Fill in exactly one of the two fields."},
	"task.delegate.one":               {"Bitte geben Sie entweder eine Person oder eine Rolle an, nicht beides.", "Enter either a person or a role, not both."},
	"task.approval.of":                {"Zu prüfen: die Angaben von %s", "To be approved: the entries of %s"},
	"task.approval.rule":              {"Vier-Augen-Prinzip: Wer den Schritt erledigt hat, darf ihn nicht selbst freigeben.", "Four-eyes rule: whoever completed the step may not approve it."},
	"task.approval.missing":           {"Die zu prüfende Aufgabe wurde nicht gefunden.", "The task under approval was not found."},
	"task.done.claimed":               {"Sie haben die Aufgabe übernommen.", "You have claimed the task."},
	"task.done.released":              {"Sie haben die Aufgabe zurückgegeben.", "You have released the task."},
	"task.done.delegated":             {"Die Aufgabe wurde weitergegeben.", "The task has been delegated."},
	"task.done.completed":             {"Die Aufgabe „%s“ ist erledigt.", "The task “%s” is completed."},
	"task.changed":                    {"Diese Aufgabe wurde gerade geändert: jetzt %s, Bearbeitung: %s.", "This task has just changed: now %s, assignee: %s."},
	"task.reload":                     {"Seite neu laden", "Reload the page"},
	"task.rejected.TaskNotFound":      {"Diese Aufgabe gibt es nicht (mehr).", "This task does not exist (any more)."},
	"task.rejected.TaskConflict":      {"Das geht im jetzigen Zustand der Aufgabe nicht: %s", "Not possible in the task's current state: %s"},
	"task.rejected.TaskForbidden":     {"Dafür fehlt Ihnen die Rolle: %s", "You lack the role for this: %s"},
	"task.rejected.FourEyesViolation": {"Vier-Augen-Prinzip: %s", "Four-eyes rule: %s"},
	"task.rejected.InvalidFormData":   {"Die Angaben sind nicht vollständig oder nicht gültig.", "The entries are incomplete or invalid."},
	"task.rejected.finished":          {"Das Verfahren ist bereits beendet.", "The procedure has already ended."},
	"task.rejected.other":             {"Die Aktion ist fehlgeschlagen: %s", "The action failed: %s"},
	"designer.title":                  {"Verfahrensdesign", "Procedure design"},
	"designer.upload":                 {"Definition hochladen", "Upload a definition"},
	"designer.deployed":               {"Bereitgestellte Verfahren", "Deployed procedures"},
	"designer.none":                   {"Noch keine Verfahren bereitgestellt.", "No procedures deployed yet."},
	"col.version":                     {"Version", "Version"},
	"col.validfrom":                   {"gilt ab", "valid from"},
	"col.deployed":                    {"bereitgestellt", "deployed"},
	"col.instances":                   {"Anträge", "Applications"},
	"col.running":                     {"davon laufend", "of them running"},
	"designer.version":                {"%s – Version %s", "%s – version %s"},
	"designer.diagram":                {"Ablaufdiagramm", "Flow diagram"},
	"designer.source":                 {"Quelltext (YAML)", "Source (YAML)"},
	"designer.hash":                   {"Inhalts-Hash", "Content hash"},
	"designer.by":                     {"von %s", "by %s"},
	"designer.file":                   {"YAML-Datei", "YAML file"},
	"designer.file.hint":              {"Eine Verfahrensdefinition (apiVersion amtsweg.de/v1), höchstens 1 MiB.", "A procedure definition (apiVersion amtsweg.de/v1), at most 1 MiB."},
	"designer.file.missing":           {"Bitte wählen Sie eine YAML-Datei aus.", "Choose a YAML file."},
	"designer.file.toolarge":          {"Die Datei ist größer als 1 MiB.", "The file is larger than 1 MiB."},
	"designer.check":                  {"Prüfen", "Check"},
	"designer.deploy":                 {"Bereitstellen", "Deploy"},
	"designer.errors":                 {"Die Definition %s hat %d Fehler. Nichts wurde bereitgestellt.", "The definition %s has %d errors. Nothing was deployed."},
	"designer.line":                   {"Zeile %d", "line %d"},
	"designer.col":                    {"Spalte %d", "column %d"},
	"designer.noline":                 {"ohne Zeilenangabe", "no line"},
	"designer.valid":                  {"Die Definition %s ist gültig: %s, Version %s.", "The definition %s is valid: %s, version %s."},
	"designer.deploy.confirm":         {"Jetzt bereitstellen? Neue Anträge nutzen dann diese Version; laufende bleiben bei ihrer.", "Deploy now? New applications then use this version; running ones keep theirs."},
	"designer.done.created":           {"Version %s von %s ist bereitgestellt.", "Version %s of %s is deployed."},
	"designer.done.same":              {"Version %s von %s war mit genau diesem Inhalt schon bereitgestellt.", "Version %s of %s was already deployed with exactly this content."},
	"designer.conflict":               {"Version %s von %s ist bereits mit anderem Inhalt bereitgestellt. Bereitgestellte Versionen ändern sich nie: Erhöhen Sie die Version und laden Sie die Datei erneut hoch.", "Version %s of %s is already deployed with other content. Deployed versions never change: raise the version and upload the file again."},
	"designer.failed":                 {"Bereitstellen fehlgeschlagen: %s", "Deployment failed: %s"},
	"designer.mark":                   {"Fehler", "error"},
	"designer.migrate":                {"Laufende Verfahren umstellen (Probelauf)", "Move running procedures (dry run)"},
	"migrate.intro":                   {"Ein Umstellungsplan bringt laufende Verfahren von einer Version auf eine andere. Der Probelauf zeigt, welche laufenden Verfahren Ihrer Behörde der Plan umstellen würde und welche nicht, und ändert nichts. Umgestellt wird durch den Betrieb.", "A migration plan moves running procedures from one version to another. The dry run shows which running procedures of your authority the plan would move and which it cannot, and changes nothing. Operators run the move."},
	"migrate.file":                    {"Umstellungsplan (YAML)", "Migration plan (YAML)"},
	"migrate.file.hint":               {"Ein Plan (kind: MigrationPlan), höchstens 256 KiB; beide Versionen müssen bereitgestellt sein.", "A plan (kind: MigrationPlan), at most 256 KiB; both versions must be deployed."},
	"migrate.file.missing":            {"Bitte wählen Sie eine Plan-Datei aus.", "Choose a plan file."},
	"migrate.file.toolarge":           {"Die Datei ist größer als 256 KiB.", "The file is larger than 256 KiB."},
	"migrate.dryrun":                  {"Probelauf", "Dry run"},
	"migrate.errors":                  {"Der Plan %s hat %d Fehler.", "The plan %s has %d errors."},
	"migrate.unusable":                {"Der Plan ist nicht anwendbar: %s", "The plan cannot be used: %s"},
	"migrate.summary":                 {"Plan %s (%s → %s): %d Verfahren würden umgestellt, %d nicht.", "Plan %s (%s → %s): %d procedures would move, %d would not."},
	"migrate.move":                    {"Würden umgestellt", "Would move"},
	"migrate.cannot":                  {"Bleiben auf ihrer Version", "Stay on their version"},
	"migrate.at":                      {"Steht bei", "At step"},
	"migrate.to":                      {"Danach bei", "Then at"},
	"migrate.when":                    {"Wann", "When"},
	"migrate.when.now":                {"sofort", "at once"},
	"migrate.when.next":               {"beim nächsten Schritt", "at its next step"},
	"migrate.why":                     {"Grund", "Why"},
	"migrate.none":                    {"Keine.", "None."},
	"migrate.run":                     {"Umstellen (Betrieb):", "To move them (operators):"},
	"operator.title":                  {"Betrieb", "Operations"},
	"operator.counts":                 {"Verfahren nach Status", "Procedures by status"},
	"operator.workflowtask":           {"Workflow-Task scheitert wiederholt (Ursache beheben oder abbrechen)", "workflow task keeps failing (fix the cause or cancel)"},
	"operator.status.running":         {"laufend", "running"},
	"operator.status.incident":        {"mit Störung", "with incident"},
	"operator.status.completed":       {"abgeschlossen", "completed"},
	"operator.status.all":             {"alle", "all"},
	"operator.incidents":              {"Offene Störungen", "Open incidents"},
	"operator.noincidents":            {"Keine offenen Störungen.", "No open incidents."},
	"operator.list":                   {"Anträge: %s", "Applications: %s"},
	"operator.empty":                  {"Keine Anträge mit diesem Status.", "No applications with this status."},
	"operator.more":                   {"Weitere Anträge", "More applications"},
	"col.step":                        {"Schritt", "Step"},
	"col.error":                       {"Fehler", "Error"},
	"col.since":                       {"seit", "since"},
	"col.actions":                     {"Aktionen", "Actions"},
	"col.milestone":                   {"Stand", "Stage"},
	"col.received":                    {"Eingang", "Received"},
	"col.outcome":                     {"Ergebnis", "Outcome"},
	"operator.retry":                  {"Wiederholen", "Retry"},
	"operator.retry.label":            {"Schritt %s von %s wiederholen", "Retry step %s of %s"},
	"operator.cancel":                 {"Verfahren abbrechen", "Cancel procedure"},
	"operator.cancel.confirm":         {"Ja, %s endgültig abbrechen", "Yes, cancel %s for good"},
	"operator.cancel.unconfirmed":     {"Bitte bestätigen Sie den Abbruch mit dem Häkchen.", "Confirm the cancellation with the check box."},
	"operator.done.retried":           {"Schritt %s von %s wird wiederholt.", "Step %s of %s is being retried."},
	"operator.done.cancelled":         {"Das Verfahren %s wird abgebrochen.", "Procedure %s is being cancelled."},
	"operator.notfound":               {"Diesen Antrag gibt es in Ihrer Behörde nicht.", "Your authority has no such application."},
	"operator.failed":                 {"Die Aktion ist fehlgeschlagen: %s", "The action failed: %s"},
	"operator.migrations":             {"Umstellungen laufender Verfahren", "Migrations of running procedures"},
	"operator.migrations.hint":        {"Gestartet mit amtsweg definitions migrate; Einzelheiten je Plan unter /api/v1/migrations/{plan}.", "Started with amtsweg definitions migrate; details per plan at /api/v1/migrations/{plan}."},
	"operator.migration.state":        {"%s: %d umgestellt, %d vorgemerkt, %d nicht möglich, %d fehlgeschlagen", "%s: %d moved, %d scheduled, %d blocked, %d failed"},
	"operator.migration.running":      {"läuft", "running"},
	"operator.migration.finished":     {"fertig", "finished"},
	"col.plan":                        {"Plan", "Plan"},
	"col.versions":                    {"Versionen", "Versions"},
	"col.progress":                    {"Fortschritt", "Progress"},
	"col.updated":                     {"zuletzt", "last"},
}

// tr returns the message key in lang, formatted with args.
func tr(lang, key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	s := m[0]
	if lang == "en" {
		s = m[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// pageLanguage is "de" or "en": ?lang= (remembered in a cookie), else the
// cookie, else German.
func pageLanguage(w http.ResponseWriter, r *http.Request, secure bool) string {
	if l := r.URL.Query().Get("lang"); l == "de" || l == "en" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "de" || c.Value == "en") {
		return c.Value
	}
	return "de"
}

var months = [2][12]string{
	{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
}

// formatDate writes a YYYY-MM-DD date as "3. März 2026" or "3 March 2026".
func formatDate(lang, ymd string) string {
	d, err := time.Parse(time.DateOnly, ymd)
	if err != nil {
		return ymd
	}
	return formatDay(lang, d)
}

func formatDay(lang string, d time.Time) string {
	if lang == "en" {
		return fmt.Sprintf("%d %s %d", d.Day(), months[1][d.Month()-1], d.Year())
	}
	return fmt.Sprintf("%d. %s %d", d.Day(), months[0][d.Month()-1], d.Year())
}

// formatTime writes an instant in the authorities' time zone.
func formatTime(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(calendar.Berlin())
	if lang == "en" {
		return formatDay(lang, t) + ", " + t.Format("15:04")
	}
	return formatDay(lang, t) + ", " + t.Format("15:04") + " Uhr"
}

// formatWait writes a waiting time in whole minutes or seconds.
func formatWait(lang string, d time.Duration) string {
	if d >= time.Minute {
		m := int((d + time.Minute - 1) / time.Minute)
		if lang == "en" {
			return plural(m, "minute", "minutes")
		}
		return plural(m, "Minute", "Minuten")
	}
	s := max(int((d+time.Second-1)/time.Second), 1)
	if lang == "en" {
		return plural(s, "second", "seconds")
	}
	return plural(s, "Sekunde", "Sekunden")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// formatSize writes a byte count.
func formatSize(lang string, n int64) string {
	var s string
	switch {
	case n >= 1<<20:
		s = fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		s = fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
	if lang == "de" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}
