-- Crypto-shredding and audited legal holds.
--
-- data_keys holds one data key per application, wrapped (AES-256-GCM) by
-- the master key that only the worker and the projector know
-- (AMTSWEG_MASTER_KEY); the procedure events on Kafka carry their
-- content encrypted under it. Erasure destroys the key (wrapped set to
-- NULL, destroyed_at set): every copy of the application's events on the
-- topic becomes unreadable. The row stays as a tombstone so that no new
-- key is ever made for an erased application.
--
-- legal_hold_log records every placing and release of a legal hold, with
-- who, when and why; it is append-only like the audit trail.

-- +goose Up
CREATE TABLE data_keys (
    reference    text        PRIMARY KEY,
    tenant       text        NOT NULL,
    wrapped      bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);

CREATE TABLE legal_hold_log (
    id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference text        NOT NULL,
    tenant    text        NOT NULL,
    action    text        NOT NULL CHECK (action IN ('placed', 'released')),
    reason    text        NOT NULL CHECK (reason <> ''),
    by_whom   text        NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX legal_hold_log_reference ON legal_hold_log (reference, id);
CREATE TRIGGER legal_hold_log_append_only BEFORE UPDATE OR DELETE ON legal_hold_log
    FOR EACH ROW EXECUTE FUNCTION amtsweg_refuse_change();

-- +goose Down
DROP TABLE legal_hold_log;
DROP TABLE data_keys;
