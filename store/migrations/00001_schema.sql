-- Amtsweg's PostgreSQL schema: deployed procedure definitions, the audit log
-- of applied domain events, and the read models (projections) the projector
-- maintains from amtsweg.procedure-events.v1.
--
-- Read models can be dropped and rebuilt from the event topic
-- (store.ResetProjections + projector.Rebuild); definitions cannot.

-- +goose Up

-- amtsweg_refuse_change guards tables whose rows must never change.
-- +goose StatementBegin
CREATE FUNCTION amtsweg_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are immutable: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = CASE TG_TABLE_NAME
                  WHEN 'definitions' THEN 'deploy the changed definition under a new version'
                  ELSE 'append a new row instead' END;
END
$$;
-- +goose StatementEnd

-- Deployed procedure definitions, immutable. semver_key is a byte string
-- whose ordering is semantic-version precedence (computed by the store), so
-- the latest version is an index scan, not a sort of text.
CREATE TABLE definitions (
    key         text        NOT NULL,
    version     text        NOT NULL,
    semver_key  bytea       NOT NULL,
    hash        text        NOT NULL UNIQUE,
    valid_from  date        NOT NULL,
    title       jsonb       NOT NULL,
    source      text        NOT NULL,
    model       jsonb       NOT NULL,
    deployed_at timestamptz NOT NULL DEFAULT now(),
    deployed_by text        NOT NULL DEFAULT '',
    PRIMARY KEY (key, version)
);
CREATE INDEX definitions_latest ON definitions (key, semver_key DESC) INCLUDE (valid_from);
CREATE TRIGGER definitions_immutable BEFORE UPDATE OR DELETE ON definitions
    FOR EACH ROW EXECUTE FUNCTION amtsweg_refuse_change();

-- Every applied domain event, append-only: the audit trail, and by its
-- primary key the guard that applies each (reference, seq) at most once.
CREATE TABLE procedure_events (
    reference  text        NOT NULL,
    seq        bigint      NOT NULL CHECK (seq > 0),
    tenant     text        NOT NULL,
    kind       text        NOT NULL,
    time       timestamptz NOT NULL,
    payload    jsonb       NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reference, seq)
);
CREATE TRIGGER procedure_events_append_only BEFORE UPDATE OR DELETE ON procedure_events
    FOR EACH ROW EXECUTE FUNCTION amtsweg_refuse_change();

-- One row per application. A row may exist before its received event has
-- been applied (events can be replayed in any order); then procedure and
-- access_code_sha256 are NULL and the status API treats it as unknown.
-- *_seq columns remember which event set a field, so an older event applied
-- late never overwrites a newer state.
CREATE TABLE applications (
    reference             text        PRIMARY KEY,
    tenant                text        NOT NULL,
    procedure             text,
    version               text,
    definition_hash       text,
    title                 jsonb,
    access_code_sha256    bytea CHECK (octet_length(access_code_sha256) = 32),
    received_at           timestamptz,
    applicant             jsonb,
    payload               jsonb,
    milestones            jsonb       NOT NULL DEFAULT '[]',
    milestone_id          text,
    milestone_title       jsonb,
    milestone_description jsonb,
    milestone_seq         bigint      NOT NULL DEFAULT 0,
    status                text        NOT NULL DEFAULT 'running'
                          CHECK (status IN ('running', 'incident', 'completed')),
    next_deadline_id      text,
    next_deadline_due     date,
    next_deadline_title   jsonb,
    outcome               text,
    outcome_title         jsonb,
    completed_at          timestamptz,
    completed_seq         bigint      NOT NULL DEFAULT 0,
    last_seq              bigint      NOT NULL DEFAULT 0,
    updated_at            timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70); -- room for HOT updates: nearly every event updates its application
-- Instance counts per deployed version (designer console).
CREATE INDEX applications_by_definition ON applications (definition_hash, status);
-- An authority's applications, newest first (operators).
CREATE INDEX applications_by_tenant ON applications (tenant, received_at DESC, reference);
-- Applications waiting on an operator. (No index contains a column that
-- every event changes, such as last_seq or updated_at, so that most updates
-- are HOT.)
CREATE INDEX applications_with_incident ON applications (tenant, received_at) WHERE status = 'incident';

-- The application's history; internal entries are for clerks only.
CREATE TABLE timeline (
    reference text        NOT NULL,
    seq       bigint      NOT NULL,
    time      timestamptz NOT NULL,
    text      jsonb       NOT NULL,
    internal  boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (reference, seq)
);

-- Legal deadlines of an application (clocks, task due dates, waits).
CREATE TABLE deadlines (
    reference  text        NOT NULL,
    id         text        NOT NULL,
    tenant     text        NOT NULL,
    title      jsonb,
    state      text        NOT NULL CHECK (state IN ('running', 'paused', 'met', 'expired')),
    due        date,
    public     boolean     NOT NULL DEFAULT false,
    last_seq   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reference, id)
);
-- Running deadlines of an authority by date (clerks' deadline view).
CREATE INDEX deadlines_running ON deadlines (tenant, due) WHERE state = 'running';

-- Human tasks: the clerks' worklist. due is 'infinity' when the task has no
-- due date, so keyset paging over (due, id) needs no NULL handling and
-- undated tasks sort last.
CREATE TABLE tasks (
    id                       text        PRIMARY KEY,
    reference                text        NOT NULL,
    tenant                   text        NOT NULL,
    procedure                text,
    version                  text,
    step                     text        NOT NULL DEFAULT '',
    title                    jsonb,
    role                     text        NOT NULL DEFAULT '',
    assignee                 text,
    status                   text        NOT NULL DEFAULT 'open'
                             CHECK (status IN ('open', 'claimed', 'completed', 'cancelled')),
    created_at               timestamptz,
    due                      date        NOT NULL DEFAULT 'infinity',
    overdue                  boolean     NOT NULL DEFAULT false,
    escalated                boolean     NOT NULL DEFAULT false,
    form                     jsonb,
    data                     jsonb,
    approval                 boolean     NOT NULL DEFAULT false,
    approval_of              text,
    approval_of_completed_by text,
    completed_by             text,
    completed_at             timestamptz,
    last_seq                 bigint      NOT NULL DEFAULT 0,
    updated_at               timestamptz NOT NULL DEFAULT now()
);
-- Worklist of a role: WHERE tenant = $1 AND role = $2 AND status = 'open'
-- AND (due, id) > ($3, $4) ORDER BY due, id LIMIT n.
CREATE INDEX tasks_worklist ON tasks (tenant, role, status, due, id);
-- "My tasks".
CREATE INDEX tasks_by_assignee ON tasks (tenant, assignee, status, due, id) WHERE assignee IS NOT NULL;
CREATE INDEX tasks_by_reference ON tasks (reference);

-- What is asked of the applicant.
CREATE TABLE requests (
    reference text        NOT NULL,
    id        text        NOT NULL,
    tenant    text        NOT NULL,
    text      jsonb,
    due       date,
    state     text        NOT NULL CHECK (state IN ('open', 'fulfilled', 'expired')),
    opened_at timestamptz,
    closed_at timestamptz,
    last_seq  bigint      NOT NULL,
    PRIMARY KEY (reference, id)
);

-- Steps that failed finally and wait for an operator.
CREATE TABLE incidents (
    reference   text        NOT NULL,
    seq         bigint      NOT NULL,
    tenant      text        NOT NULL,
    step        text        NOT NULL,
    message     text        NOT NULL,
    state       text        NOT NULL CHECK (state IN ('open', 'resolved')),
    raised_at   timestamptz NOT NULL,
    resolved_at timestamptz,
    PRIMARY KEY (reference, seq)
);
CREATE INDEX incidents_open ON incidents (tenant, raised_at) WHERE state = 'open';

-- Applications the intake accepted: one row per reference, so that a
-- redelivered submission starts nothing twice and a reference reused for
-- different content is refused. Not a projection: a rebuild keeps it.
CREATE TABLE submissions (
    reference       text        PRIMARY KEY,
    tenant          text        NOT NULL,
    procedure       text        NOT NULL,
    version         text        NOT NULL,
    definition_hash text        NOT NULL,
    event_id        text        NOT NULL,
    event_source    text        NOT NULL,
    data_sha256     bytea       NOT NULL,
    received_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz
);

-- +goose Down
DROP TABLE submissions;
DROP TABLE incidents;
DROP TABLE requests;
DROP TABLE tasks;
DROP TABLE deadlines;
DROP TABLE timeline;
DROP TABLE applications;
DROP TABLE procedure_events;
DROP TABLE definitions;
DROP FUNCTION amtsweg_refuse_change();
