package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// SubjectQuery names one data subject within one authority: by what the
// applicant submitted about themselves (Applicant, a JSON object the
// application's applicant data must contain, e.g. {"email": "…"}), or by
// the references of their applications, or both (the union).
type SubjectQuery struct {
	Tenant     string
	Applicant  json.RawMessage
	References []string
}

// Validate checks that the query names a subject: a tenant, and an
// applicant object with at least one field or at least one reference. An
// empty object would match every applicant of the authority.
func (q SubjectQuery) Validate() error {
	if q.Tenant == "" {
		return fmt.Errorf("subject query: the authority (tenant) is missing")
	}
	a := bytes.TrimSpace(q.Applicant)
	if len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(a, &obj); err != nil {
			return fmt.Errorf("subject query: applicant must be a JSON object of fields to match, e.g. {\"email\": \"erika@example.org\"}: %v", err)
		}
		if len(obj) == 0 {
			return fmt.Errorf("subject query: applicant {} would match every applicant; name at least one field, e.g. {\"email\": \"erika@example.org\"}")
		}
		return nil
	}
	if len(q.References) == 0 {
		return fmt.Errorf("subject query: name the applicant (fields to match) or the references of their applications")
	}
	return nil
}

// SubjectReferences returns the references of the authority's applications
// that the query names, oldest first, and the named references that are
// not applications of the authority (unknown, or another authority's: the
// two are not told apart).
func (s *Store) SubjectReferences(ctx context.Context, q SubjectQuery) (refs, unknown []string, err error) {
	if err := q.Validate(); err != nil {
		return nil, nil, err
	}
	var applicant []byte
	if a := bytes.TrimSpace(q.Applicant); len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		applicant = a
	}
	rows, err := s.pool.Query(ctx, `
SELECT reference FROM applications
WHERE tenant = $1 AND (($2::jsonb IS NOT NULL AND applicant @> $2::jsonb) OR reference = ANY($3))
ORDER BY received_at NULLS LAST, reference`, q.Tenant, applicant, q.References)
	if err != nil {
		return nil, nil, fmt.Errorf("subject references: %w", err)
	}
	refs, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("subject references: %w", err)
	}
	for _, r := range q.References {
		if !slices.Contains(refs, r) && !slices.Contains(unknown, r) {
			unknown = append(unknown, r)
		}
	}
	return refs, unknown, nil
}

// ReferenceTables lists the tables of Amtsweg's schema that hold rows
// about one application (every table with a reference column), in name
// order. The list is read from the catalog, so a table added by a later
// migration is included without changing this code — except data_keys:
// an application's wrapped data key is key material, not data about the
// applicant, and handing it out would weaken crypto-shredding.
func (s *Store) ReferenceTables(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
SELECT c.table_name FROM information_schema.columns c
JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.table_schema = current_schema() AND c.column_name = 'reference' AND t.table_type = 'BASE TABLE'
  AND c.table_name <> 'data_keys'
ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("reference tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("reference tables: %w", err)
	}
	return tables, nil
}

// RecordsOf returns every row held about one application, as JSON objects
// (column name to value; bytea as "\\x…" hex), per table of
// ReferenceTables; tables without rows for it are left out.
func (s *Store) RecordsOf(ctx context.Context, tables []string, reference string) (map[string][]json.RawMessage, error) {
	out := map[string][]json.RawMessage{}
	for _, t := range tables {
		rows, err := s.pool.Query(ctx,
			`SELECT to_jsonb(x) FROM `+pgx.Identifier{t}.Sanitize()+` x WHERE reference = $1 ORDER BY to_jsonb(x)::text`, reference)
		if err != nil {
			return nil, fmt.Errorf("records of %s: %s: %w", reference, t, err)
		}
		recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (json.RawMessage, error) {
			var b []byte
			err := r.Scan(&b)
			return json.RawMessage(b), err
		})
		if err != nil {
			return nil, fmt.Errorf("records of %s: %s: %w", reference, t, err)
		}
		if len(recs) > 0 {
			out[t] = recs
		}
	}
	return out, nil
}
