-- The audit trail becomes tamper-evident: every entry of procedure_events
-- carries its position in its application's chain, the SHA-256 of its
-- payload (canonical JSON, RFC 8785) and the hash of the previous entry of
-- the same application; its own hash covers all of these (see store/audit.go
-- for the exact encoding). audit_heads holds each chain's last entry and is
-- the row appends lock, so one application's chain stays linear however
-- many projectors append. audit_anchors are periodic hashes over every
-- chain head, themselves chained; audit_anchor_heads holds the heads that
-- changed since the anchor before.
--
-- Entries recorded before this migration have no position and no hash; the
-- verifier reports them as unchained (they cannot be sealed after the fact
-- without trusting the rows as they are now).

-- +goose Up
ALTER TABLE procedure_events
    ADD COLUMN position       bigint CHECK (position > 0),
    ADD COLUMN payload_sha256 bytea  CHECK (octet_length(payload_sha256) = 32),
    ADD COLUMN prev_hash      bytea  CHECK (octet_length(prev_hash) = 32),
    ADD COLUMN hash           bytea  CHECK (octet_length(hash) = 32);
CREATE UNIQUE INDEX procedure_events_chain ON procedure_events (reference, position);

CREATE TABLE audit_heads (
    reference text   PRIMARY KEY,
    position  bigint NOT NULL DEFAULT 0,
    hash      bytea
);

CREATE TABLE audit_anchors (
    id         bigint      PRIMARY KEY,
    created_at timestamptz NOT NULL,
    chains     bigint      NOT NULL,
    root       bytea       NOT NULL,
    prev_hash  bytea,
    hash       bytea       NOT NULL
);
CREATE TRIGGER audit_anchors_immutable BEFORE UPDATE OR DELETE ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION amtsweg_refuse_change();

CREATE TABLE audit_anchor_heads (
    reference text   NOT NULL,
    anchor_id bigint NOT NULL REFERENCES audit_anchors (id),
    position  bigint NOT NULL,
    hash      bytea  NOT NULL,
    PRIMARY KEY (reference, anchor_id)
);
CREATE INDEX audit_anchor_heads_by_anchor ON audit_anchor_heads (anchor_id);
CREATE TRIGGER audit_anchor_heads_immutable BEFORE UPDATE OR DELETE ON audit_anchor_heads
    FOR EACH ROW EXECUTE FUNCTION amtsweg_refuse_change();

-- +goose Down
DROP TABLE audit_anchor_heads;
DROP TABLE audit_anchors;
DROP TABLE audit_heads;
DROP INDEX procedure_events_chain;
ALTER TABLE procedure_events DROP COLUMN position, DROP COLUMN payload_sha256,
    DROP COLUMN prev_hash, DROP COLUMN hash;
