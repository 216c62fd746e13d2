-- Data subject access (Art. 15 GDPR): find an applicant's applications by
-- what they submitted about themselves (applicant @> '{"email": …}'), and
-- every row about one application by its reference.

-- +goose Up
CREATE INDEX applications_by_applicant ON applications USING gin (applicant jsonb_path_ops);
CREATE INDEX case_number_assignments_by_reference ON case_number_assignments (reference);

-- +goose Down
DROP INDEX case_number_assignments_by_reference;
DROP INDEX applications_by_applicant;
