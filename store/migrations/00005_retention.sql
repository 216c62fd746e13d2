-- Retention and erasure: legal holds stop erasure; erasures records which
-- applications were erased when (a tombstone without personal data); an
-- erased audit entry keeps its hashes and gets an anonymised payload, the
-- only change the audit trail allows.

-- +goose Up
ALTER TABLE procedure_events ADD COLUMN erased_at timestamptz;

-- procedure_events stays append-only, except that erasure may replace the
-- payload of an entry once (setting erased_at); the chain columns, and
-- everything else, never change.
-- +goose StatementBegin
CREATE FUNCTION amtsweg_audit_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL
       AND (NEW.reference, NEW.seq, NEW.tenant, NEW.kind, NEW.time, NEW.applied_at, NEW.position,
            NEW.payload_sha256, NEW.prev_hash, NEW.hash)
           IS NOT DISTINCT FROM
           (OLD.reference, OLD.seq, OLD.tenant, OLD.kind, OLD.time, OLD.applied_at, OLD.position,
            OLD.payload_sha256, OLD.prev_hash, OLD.hash) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'rows of % are immutable: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'append a new row instead; only erasure may replace a payload, once';
END
$$;
-- +goose StatementEnd
DROP TRIGGER procedure_events_append_only ON procedure_events;
CREATE TRIGGER procedure_events_append_only BEFORE UPDATE OR DELETE ON procedure_events
    FOR EACH ROW EXECUTE FUNCTION amtsweg_audit_guard();

CREATE TABLE legal_holds (
    reference text        PRIMARY KEY,
    tenant    text        NOT NULL,
    reason    text        NOT NULL CHECK (reason <> ''),
    placed_by text        NOT NULL,
    placed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE erasures (
    reference  text        PRIMARY KEY,
    tenant     text        NOT NULL,
    procedure  text,
    class      text,
    erased_at  timestamptz NOT NULL DEFAULT now(),
    erased_by  text        NOT NULL
);

-- +goose Down
DROP TABLE erasures;
DROP TABLE legal_holds;
DROP TRIGGER procedure_events_append_only ON procedure_events;
CREATE TRIGGER procedure_events_append_only BEFORE UPDATE OR DELETE ON procedure_events
    FOR EACH ROW EXECUTE FUNCTION amtsweg_refuse_change();
DROP FUNCTION amtsweg_audit_guard();
ALTER TABLE procedure_events DROP COLUMN erased_at;
