// Package records produces what an authority hands out of its records:
// the data subject access export (Art. 15 GDPR) of everything Amtsweg holds
// about one applicant, and the e-file export of a closed procedure. It
// reads PostgreSQL through package store and the documents through the
// e-file plugin's store; see docs/records.md.
package records
