package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/text/language"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/store"
)

// StatusResponse is the body of GET /api/v1/status/{reference}. Texts are
// in Language.
type StatusResponse struct {
	Reference string             `json:"reference"`
	Language  string             `json:"language"`
	Procedure ProcedureInfo      `json:"procedure"`
	Milestone *MilestoneResponse `json:"milestone"`
	// Milestones are all public milestones in order, for a progress bar.
	Milestones   []MilestoneStep   `json:"milestones"`
	ReceivedAt   time.Time         `json:"receivedAt"`
	Timeline     []TimelineItem    `json:"timeline"`
	NextDeadline *DeadlineResponse `json:"nextDeadline"`
	OpenRequests []RequestResponse `json:"openRequests"`
	Outcome      *OutcomeResponse  `json:"outcome"`
	// Status is "running", "completed" or "technical-delay": the
	// procedure cannot go on for a technical fault that operators have
	// been told about (a workflow-task incident). A step's incident,
	// which operators retry, shows as "running".
	Status string `json:"status"`
	// StatusText says Status in the response's language.
	StatusText string `json:"statusText"`
}

// statusTexts are the citizen's words for StatusResponse.Status.
var statusTexts = map[string]events.LocalText{
	"running":         {De: "in Bearbeitung", En: "in progress"},
	"completed":       {De: "abgeschlossen", En: "completed"},
	"technical-delay": {De: "technische Verzögerung – Ihr Antrag wird weiterbearbeitet, sobald sie behoben ist", En: "technical delay – your application will be processed as soon as it is resolved"},
}

// ProcedureInfo names the procedure and its version.
type ProcedureInfo struct {
	Key     string `json:"key"`
	Version string `json:"version"`
	Title   string `json:"title"`
}

// MilestoneResponse is the current milestone.
type MilestoneResponse struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// MilestoneStep is one step of the progress bar.
type MilestoneStep struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Reached bool   `json:"reached"`
	Current bool   `json:"current"`
}

// TimelineItem is a public timeline entry.
type TimelineItem struct {
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// DeadlineResponse is the next deadline (date YYYY-MM-DD).
type DeadlineResponse struct {
	Date  string `json:"date"`
	Title string `json:"title"`
}

// RequestResponse is something the applicant is asked for.
type RequestResponse struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	Due  string `json:"due,omitempty"`
}

// OutcomeResponse is how the procedure ended.
type OutcomeResponse struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

var (
	languages = []language.Tag{language.German, language.English}
	matcher   = language.NewMatcher(languages)
)

// requestLanguage is "de" or "en": the lang query parameter, else the best
// match of Accept-Language, else German.
func requestLanguage(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "de" || l == "en" {
		return l
	}
	_, i := language.MatchStrings(matcher, r.Header.Get("Accept-Language"))
	base, _ := languages[i].Base()
	return base.String()
}

func text(t events.LocalText, lang string) string {
	if lang == "en" && t.En != "" {
		return t.En
	}
	return t.De
}

const (
	notFoundMsg  = "no application with this reference and access code"
	notFoundHint = "check the reference (exactly as printed) and the access code (case, spaces and hyphens do not matter) in your confirmation of receipt"
)

// ErrNoApplication is LookupStatus's answer both for an unknown reference
// and for a wrong access code: callers must not tell the two apart.
var ErrNoApplication = errors.New(notFoundMsg)

// ErrStatusUnavailable means the status could not be read (the database
// failed); the caller should ask the citizen to try again later.
var ErrStatusUnavailable = errors.New("status temporarily unavailable")

// TooManyAttemptsError means this client has used up its failed attempts
// (on this reference, or over all references); RetryAfter says when the
// next one is allowed.
type TooManyAttemptsError struct {
	RetryAfter time.Duration
}

func (e *TooManyAttemptsError) Error() string {
	return "too many failed attempts: wait " + e.RetryAfter.Round(time.Second).String() + " before trying again"
}

// pairKey is the limiter key of a reference and a client together.
func pairKey(reference, client string) string { return reference + "\x00" + client }

// retryAfter is how long client must wait before its next attempt on
// reference, 0 if it may try now. reference must have a valid format.
func (s *Server) retryAfter(reference, client string, now time.Time) time.Duration {
	need := 1.0
	if s.byRef.exhausted(reference, now) {
		// Guessed from many addresses: only a clean record may try.
		need = float64(s.cfg.ReferenceFailures.Burst)
	}
	return max(s.byPair.retryAfter(pairKey(reference, client), need, now), s.byClient.retryAfter(client, 1, now))
}

// LookupStatus is the status API's access check for other front ends of
// the same server (the citizen's status page): it validates the
// reference's format (a malformed one is counted against the client only,
// and never stored), applies the limits of failed attempts (see
// Config.ReferenceFailures; the client is taken from r with
// Config.ClientAddress), reads the application, compares the SHA-256 of
// the canonical access code in constant time (an unknown reference is
// compared against a dummy hash, so it costs what a wrong code costs),
// counts a failure, and returns the public status with texts in lang ("de"
// or "en").
//
// Errors: *TooManyAttemptsError before any lookup when a limit is used up;
// ErrNoApplication, identical for an unknown reference and a wrong code;
// ErrStatusUnavailable when the database fails. An empty access code is
// the caller's to reject before calling (it is not counted as an attempt).
func (s *Server) LookupStatus(r *http.Request, reference, accessCode, lang string) (StatusResponse, error) {
	var st store.Status
	err := s.checkAccess(r, reference, accessCode, func() (hash []byte, err error) {
		st, err = s.cfg.Store.ApplicationStatus(r.Context(), reference)
		return st.AccessCodeSHA256, err
	})
	if err != nil {
		return StatusResponse{}, err
	}
	return statusResponse(&st, lang), nil
}

// lookupStatusDocument is LookupStatus with the same access check, but
// returns the response body as PostgreSQL built it (see
// store.ApplicationStatusDocument): compact JSON with a trailing newline,
// byte for byte what writeJSON makes of LookupStatus's answer.
func (s *Server) lookupStatusDocument(r *http.Request, reference, accessCode, lang string) ([]byte, error) {
	var doc store.StatusDocument
	err := s.checkAccess(r, reference, accessCode, func() (hash []byte, err error) {
		doc, err = s.cfg.Store.ApplicationStatusDocument(r.Context(), reference, lang, statusTextsIn[lang])
		return doc.AccessCodeSHA256, err
	})
	if err != nil {
		return nil, err
	}
	return marshalLike(doc.JSON), nil
}

// statusTextsIn are statusTexts per response language.
var statusTextsIn = func() map[string]store.StatusTexts {
	m := map[string]store.StatusTexts{}
	for _, l := range []string{"de", "en"} {
		m[l] = store.StatusTexts{Running: text(statusTexts["running"], l), Completed: text(statusTexts["completed"], l),
			TechnicalDelay: text(statusTexts["technical-delay"], l)}
	}
	return m
}()

// marshalLike escapes the characters encoding/json escapes and PostgreSQL
// does not (<, >, &, U+2028, U+2029; they can only occur inside strings)
// and appends the newline writeJSON appends. Most documents hold none of
// them and pass through unchanged.
func marshalLike(doc []byte) []byte {
	if !bytes.ContainsAny(doc, "<>&\u2028\u2029") {
		return append(doc, '\n')
	}
	var b bytes.Buffer
	b.Grow(len(doc) + 32)
	json.HTMLEscape(&b, doc)
	b.WriteByte('\n')
	return b.Bytes()
}

// checkAccess is the status lookup's access check: it validates the
// reference's format (a malformed one is counted against the client only,
// and never stored), applies the limits of failed attempts, calls read for
// the stored access-code hash (read returns an error wrapping
// store.ErrNotFound for an unknown reference), compares the SHA-256 of the
// canonical access code in constant time (an unknown reference is compared
// against a dummy hash, so it costs what a wrong code costs) and counts a
// failure. Errors as LookupStatus documents them.
func (s *Server) checkAccess(r *http.Request, reference, accessCode string, read func() ([]byte, error)) error {
	client := s.cfg.ClientAddress(r)
	now := time.Now()
	if events.ValidateReference(reference) != nil {
		// No application has this reference; say so as for any unknown
		// one, but keep nothing keyed by what the client sent.
		if wait := s.byClient.retryAfter(client, 1, now); wait > 0 {
			return &TooManyAttemptsError{RetryAfter: wait}
		}
		s.byClient.fail(client, now)
		return ErrNoApplication
	}
	if wait := s.retryAfter(reference, client, now); wait > 0 {
		return &TooManyAttemptsError{RetryAfter: wait}
	}
	sum := sha256.Sum256([]byte(events.CanonicalAccessCode(accessCode)))

	hash, err := read()
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("status lookup failed", "reference", reference, "error", err)
		return ErrStatusUnavailable
	}
	stored := s.dummyHash
	if known {
		stored = hash
	}
	// Compare always, so an unknown reference costs what a wrong code does.
	match := subtle.ConstantTimeCompare(sum[:], stored) == 1
	if !known || !match {
		s.byPair.fail(pairKey(reference, client), now)
		s.byClient.fail(client, now)
		wasExhausted := s.byRef.exhausted(reference, now)
		s.byRef.fail(reference, now)
		if !wasExhausted && s.byRef.exhausted(reference, now) {
			s.log.Warn("status lookups of one reference fail from many addresses: it is being guessed; each address now gets one attempt per refill",
				"reference", reference)
		}
		return ErrNoApplication
	}
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept-Language")
	ref := r.PathValue("reference")
	code := r.Header.Get("X-Access-Code")
	if code == "" {
		// Rate-limited clients learn nothing more from this answer, so it
		// may come first.
		client, now := s.cfg.ClientAddress(r), time.Now()
		wait := s.byClient.retryAfter(client, 1, now)
		if events.ValidateReference(ref) == nil {
			wait = s.retryAfter(ref, client, now)
		}
		if wait > 0 {
			tooMany(w, wait)
			return
		}
		writeError(w, http.StatusBadRequest, "access code missing",
			"send the access code from your confirmation of receipt in the X-Access-Code header")
		return
	}
	lang := requestLanguage(r)
	body, err := s.lookupStatusDocument(r, ref, code, lang)
	var many *TooManyAttemptsError
	switch {
	case errors.As(err, &many):
		tooMany(w, many.RetryAfter)
	case errors.Is(err, ErrNoApplication):
		writeError(w, http.StatusNotFound, notFoundMsg, notFoundHint)
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "status temporarily unavailable", "try again in a few minutes")
	default:
		w.Header().Set("Content-Language", lang)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeError(w, http.StatusTooManyRequests, "too many failed attempts",
		"wait "+wait.Round(time.Second).String()+" before trying again, and check the reference and access code")
}

func statusResponse(st *store.Status, lang string) StatusResponse {
	out := StatusResponse{
		Reference:    st.Reference,
		Language:     lang,
		Procedure:    ProcedureInfo{Key: st.Procedure, Version: st.Version, Title: text(st.Title, lang)},
		ReceivedAt:   st.ReceivedAt,
		Milestones:   make([]MilestoneStep, 0, len(st.Milestones)),
		Timeline:     make([]TimelineItem, 0, len(st.Timeline)),
		OpenRequests: make([]RequestResponse, 0, len(st.OpenRequests)),
		Status:       "running",
	}
	switch {
	case st.State == "completed":
		out.Status = "completed"
	case st.Delayed:
		out.Status = "technical-delay"
	}
	out.StatusText = text(statusTexts[out.Status], lang)
	current := -1
	if st.Milestone != nil {
		out.Milestone = &MilestoneResponse{ID: st.Milestone.ID, Title: text(st.Milestone.Title, lang),
			Description: text(st.Milestone.Description, lang)}
		for i, m := range st.Milestones {
			if m.ID == st.Milestone.ID {
				current = i
			}
		}
	}
	for i, m := range st.Milestones {
		out.Milestones = append(out.Milestones, MilestoneStep{ID: m.ID, Title: text(m.Title, lang),
			Reached: i <= current, Current: i == current})
	}
	for _, e := range st.Timeline {
		out.Timeline = append(out.Timeline, TimelineItem{Time: e.Time, Text: text(e.Text, lang)})
	}
	if d := st.NextDeadline; d != nil {
		out.NextDeadline = &DeadlineResponse{Date: d.Due, Title: text(d.Title, lang)}
	}
	for _, q := range st.OpenRequests {
		out.OpenRequests = append(out.OpenRequests, RequestResponse{ID: q.ID, Text: text(q.Text, lang), Due: q.Due})
	}
	if o := st.Outcome; o != nil {
		out.Outcome = &OutcomeResponse{ID: o.ID, Title: text(o.Title, lang)}
	}
	return out
}
