package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// StatusTexts are the citizen's words for the three public states of an
// application, already in the language of the document.
type StatusTexts struct {
	Running, Completed, TechnicalDelay string
}

// StatusDocument is an application's public status as the JSON document
// the status API sends, built by PostgreSQL in one statement, plus the
// stored access-code hash the caller must check before sending it.
type StatusDocument struct {
	// AccessCodeSHA256 is the SHA-256 of the access code (32 bytes).
	AccessCodeSHA256 []byte
	// JSON is the document, compact, without a trailing newline. The
	// characters <, >, &, U+2028 and U+2029 are not escaped yet: encoding/json
	// escapes them, so a caller that needs bytes identical to json.Marshal
	// passes the document through json.HTMLEscape when it holds any.
	JSON []byte
}

// localized is the SQL expression of the JSON string literal of the
// translation in jsonb column expression col: the language $2 when the
// text has it, else German, else "" — the API's rule (api.text).
func localized(col string) string {
	return `to_json(COALESCE(NULLIF(` + col + `->>$2, ''), ` + col + `->>'de', ''))::text`
}

// rfc3339 is the SQL expression of the JSON string literal of the
// timestamptz expression col as encoding/json writes a time.Time in UTC:
// RFC 3339 with the fraction's trailing zeros cut (PostgreSQL's JSON form
// of a timestamp cuts them too), and "Z".
func rfc3339(col string) string {
	return `left(to_json(` + col + ` AT TIME ZONE 'UTC')::text, -1) || 'Z"'`
}

// statusDocumentSQL builds the status document of the application $1 in
// language $2 ("de" or "en"), with $3, $4, $5 the status texts (running,
// completed, technical delay). The keys and their order are those of
// api.StatusResponse; every string goes through to_json, so it is escaped
// as encoding/json escapes it (up to the HTML characters, see
// StatusDocument.JSON). Times are in UTC. concat skips NULLs (an empty
// aggregate, the absent due date of a request); every other part is
// non-NULL by construction.
var statusDocumentSQL = strings.NewReplacer(
	"{title}", localized("a.title"),
	"{msTitle}", localized("a.milestone_title"),
	"{msDesc}", localized("a.milestone_description"),
	"{mTitle}", localized("m.e->'title'"),
	"{dlTitle}", localized("a.next_deadline_title"),
	"{outTitle}", localized("a.outcome_title"),
	"{tText}", localized("t.text"),
	"{qText}", localized("q.text"),
	"{received}", rfc3339("a.received_at"),
	"{tTime}", rfc3339("t.time"),
).Replace(`
	WITH a AS (
		SELECT a.*,
		       COALESCE((SELECT max(x.i) FROM jsonb_array_elements(a.milestones) WITH ORDINALITY x(e, i)
		                 WHERE a.milestone_id IS NOT NULL AND COALESCE(x.e->>'id', '') = a.milestone_id), 0) AS current_milestone,
		       EXISTS (SELECT 1 FROM incidents i
		               WHERE i.reference = a.reference AND i.kind = 'workflow-task' AND i.state = 'open') AS delayed
		FROM applications a WHERE a.reference = $1
	)
	SELECT a.access_code_sha256,
	  CASE WHEN a.procedure IS NOT NULL AND a.access_code_sha256 IS NOT NULL THEN concat(
	  '{"reference":', to_json(a.reference)::text,
	  ',"language":', to_json($2::text)::text,
	  ',"procedure":{"key":', to_json(a.procedure)::text,
	      ',"version":', to_json(COALESCE(a.version, ''))::text,
	      ',"title":', {title}, '}',
	  ',"milestone":', CASE WHEN a.milestone_id IS NULL THEN 'null' ELSE concat(
	      '{"id":', to_json(a.milestone_id)::text, ',"title":', {msTitle},
	      CASE WHEN {msDesc} = '""' THEN '' ELSE ',"description":' || {msDesc} END, '}') END,
	  ',"milestones":[', (
	      SELECT string_agg(concat('{"id":', to_json(COALESCE(m.e->>'id', ''))::text, ',"title":', {mTitle},
	                        ',"reached":', (m.i <= a.current_milestone)::text,
	                        ',"current":', (m.i = a.current_milestone)::text, '}'), ',' ORDER BY m.i)
	      FROM jsonb_array_elements(a.milestones) WITH ORDINALITY m(e, i)), ']',
	  ',"receivedAt":', CASE WHEN a.received_at IS NULL THEN '"0001-01-01T00:00:00Z"' ELSE {received} END,
	  ',"timeline":[', (
	      SELECT string_agg(concat('{"time":', {tTime}, ',"text":', {tText}, '}'), ',' ORDER BY t.seq)
	      FROM timeline t WHERE t.reference = a.reference AND NOT t.internal), ']',
	  ',"nextDeadline":', CASE WHEN a.next_deadline_due IS NULL THEN 'null' ELSE concat(
	      '{"date":"', to_char(a.next_deadline_due, 'YYYY-MM-DD'), '","title":', {dlTitle}, '}') END,
	  ',"openRequests":[', (
	      SELECT string_agg(concat('{"id":', to_json(q.id)::text, ',"text":', {qText},
	                        CASE WHEN q.due IS NOT NULL THEN concat(',"due":"', to_char(q.due, 'YYYY-MM-DD'), '"') END, '}'),
	                        ',' ORDER BY q.opened_at, q.id)
	      FROM requests q WHERE q.reference = a.reference AND q.state = 'open'), ']',
	  ',"outcome":', CASE WHEN a.outcome IS NULL THEN 'null' ELSE concat(
	      '{"id":', to_json(a.outcome)::text, ',"title":', {outTitle}, '}') END,
	  ',"status":', CASE WHEN a.status = 'completed' THEN '"completed"' WHEN a.delayed THEN '"technical-delay"' ELSE '"running"' END,
	  ',"statusText":', to_json(CASE WHEN a.status = 'completed' THEN $4::text WHEN a.delayed THEN $5::text ELSE $3::text END)::text,
	  '}') END
	FROM a`)

// ApplicationStatusDocument returns the public status of the application
// reference as the status API's JSON document in lang ("de" or "en"; other
// values read as German), in one statement and one round trip. It returns
// an error wrapping ErrNotFound when the reference is unknown or its
// received event has not been applied yet — as ApplicationStatus does.
func (s *Store) ApplicationStatusDocument(ctx context.Context, reference, lang string, texts StatusTexts) (StatusDocument, error) {
	var doc StatusDocument
	err := s.pool.QueryRow(ctx, statusDocumentSQL, reference, lang, texts.Running, texts.Completed, texts.TechnicalDelay).
		Scan(&doc.AccessCodeSHA256, &doc.JSON)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (doc.JSON == nil || doc.AccessCodeSHA256 == nil)) {
		return StatusDocument{}, fmt.Errorf("application %s: %w", reference, ErrNotFound)
	}
	if err != nil {
		return StatusDocument{}, fmt.Errorf("application %s status document: %w", reference, err)
	}
	return doc, nil
}
