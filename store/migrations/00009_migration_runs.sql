-- Runs of instance migration plans (amtsweg definitions migrate): which
-- running instances a plan moved to another definition version, so that a
-- run stopped midway resumes where it stopped. Not a projection: written by
-- the migration runner, never rebuilt from the topic. The audit entry of
-- each moved instance is its application's timeline event (procedure_events).

-- +goose Up

CREATE TABLE migration_runs (
    plan_id         text        PRIMARY KEY,
    procedure       text        NOT NULL,
    source_version  text        NOT NULL,
    target_version  text        NOT NULL,
    -- SHA-256 of the plan file: re-running a plan id with other content is
    -- refused (give a changed plan a new id).
    plan_sha256     text        NOT NULL,
    started_by      text        NOT NULL,
    state           text        NOT NULL DEFAULT 'running'
                                CHECK (state IN ('running', 'finished')),
    started_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);

-- One row per instance a run looked at. moved: continues on the target
-- version; scheduled: moves at its next top-level step; blocked: cannot
-- migrate (message says why) and stays on its version; failed: an error
-- to retry by re-running the plan.
CREATE TABLE migration_run_items (
    plan_id    text        NOT NULL REFERENCES migration_runs ON DELETE CASCADE,
    reference  text        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('moved', 'scheduled', 'blocked', 'failed')),
    at_step    text        NOT NULL DEFAULT '',
    message    text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, reference)
);

-- +goose Down
DROP TABLE migration_run_items;
DROP TABLE migration_runs;
