package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/store"
)

// LegalBasisAccess is the provision a subject access export answers.
const LegalBasisAccess = "Art. 15 GDPR (Regulation (EU) 2016/679)"

// SubjectExport is everything Amtsweg holds about one applicant in one
// authority.
type SubjectExport struct {
	LegalBasis  string    `json:"legalBasis"`
	Tenant      string    `json:"tenant"`
	GeneratedAt time.Time `json:"generatedAt"`
	// GeneratedBy is who asked for the export (the operator).
	GeneratedBy string `json:"generatedBy"`
	// Query is how the subject was named.
	Query SubjectQuery `json:"query"`
	// Tables lists the database tables that were searched: every table
	// with rows about an application.
	Tables       []string             `json:"tables"`
	Applications []SubjectApplication `json:"applications"`
	// Sources says where each part comes from and what is not included.
	Sources []string `json:"sources"`
}

// SubjectQuery is the JSON form of store.SubjectQuery (without the tenant,
// which is the caller's).
type SubjectQuery struct {
	Applicant  any      `json:"applicant,omitempty"`
	References []string `json:"references,omitempty"`
}

// SubjectApplication is one application of the subject.
type SubjectApplication struct {
	Reference string `json:"reference"`
	// Records holds every row about the application per table:
	// applications (submitted data and status), submissions, timeline
	// (including internal entries), deadlines, requests, tasks (with the
	// form data clerks entered), incidents, procedure_events (the audit
	// trail: every domain event as published on Kafka, with its chain
	// hashes), case numbers, and any other table with a reference column.
	Records map[string][]json.RawMessage `json:"records"`
	// Documents are the metadata of the documents in the application's
	// e-file (not their content); nil when no e-file store is configured.
	Documents []efile.Meta `json:"documents"`
}

// ErrUnknownReferences is returned when a named reference is not an
// application of the authority.
var ErrUnknownReferences = errors.New("not applications of this authority")

// Subject builds the subject access export. efileDir is the e-file
// plugin's directory ("" when this process cannot read it: the export then
// says so). by names the operator, for the record.
func Subject(ctx context.Context, st *store.Store, efileDir string, q store.SubjectQuery, by string) (SubjectExport, error) {
	refs, unknown, err := st.SubjectReferences(ctx, q)
	if err != nil {
		return SubjectExport{}, err
	}
	if len(unknown) > 0 {
		return SubjectExport{}, fmt.Errorf("%s: %w (check the references and the authority)", strings.Join(unknown, ", "), ErrUnknownReferences)
	}
	tables, err := st.ReferenceTables(ctx)
	if err != nil {
		return SubjectExport{}, err
	}
	out := SubjectExport{
		LegalBasis: LegalBasisAccess, Tenant: q.Tenant, GeneratedAt: time.Now().UTC(), GeneratedBy: by,
		Query: SubjectQuery{References: q.References}, Tables: tables, Applications: []SubjectApplication{},
		Sources: []string{
			"PostgreSQL: every row of the tables listed under tables whose reference is one of the applications",
			"Kafka: the domain events of amtsweg.procedure-events.v1 are the payloads of records.procedure_events; the intake event's data is records.applications (applicant, payload)",
			"not included: Temporal workflow histories (they hold the same submitted data and task inputs as the records above; operators can read them in the Temporal UI by workflow id = reference)",
		},
	}
	if len(q.Applicant) > 0 {
		out.Query.Applicant = q.Applicant
	}
	var files *efile.Store
	if efileDir != "" {
		if files, err = efile.NewStore(efileDir); err != nil {
			return SubjectExport{}, err
		}
		out.Sources = append(out.Sources, "e-file: metadata of every document in "+efileDir+" (content on request through the e-file export)")
	} else {
		out.Sources = append(out.Sources, "not included: documents (this process has no e-file directory configured; set AMTSWEG_EFILE_DIR or AMTSWEG_DATA_DIR)")
	}
	for _, ref := range refs {
		recs, err := st.RecordsOf(ctx, tables, ref)
		if err != nil {
			return SubjectExport{}, err
		}
		app := SubjectApplication{Reference: ref, Records: recs}
		if files != nil {
			if app.Documents, err = files.List(ref); err != nil {
				return SubjectExport{}, err
			}
		}
		out.Applications = append(out.Applications, app)
	}
	return out, nil
}
