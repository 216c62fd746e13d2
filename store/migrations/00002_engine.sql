-- Tables the engine itself keeps: file numbers (Aktenzeichen) assigned by
-- the built-in amtsweg.case-number activity, and the catalog of plugin
-- activities the workers offer, which deployment validates against.

-- +goose Up

-- One counter per authority and year; numbers have no gaps.
CREATE TABLE case_number_counters (
    tenant text    NOT NULL,
    year   integer NOT NULL,
    last   bigint  NOT NULL,
    PRIMARY KEY (tenant, year)
);

-- Every assigned number, once per call (idempotency key), so a retried
-- activity gets the number it got first.
CREATE TABLE case_number_assignments (
    idempotency_key text        PRIMARY KEY,
    tenant          text        NOT NULL,
    reference       text        NOT NULL,
    case_number     text        NOT NULL,
    year            integer     NOT NULL,
    number          bigint      NOT NULL,
    assigned_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant, year, number)
);

-- The activities workers' plugin hosts offer, refreshed while they run.
CREATE TABLE plugin_activities (
    name           text        PRIMARY KEY,
    plugin         text        NOT NULL,
    plugin_version text        NOT NULL,
    description    text        NOT NULL DEFAULT '',
    input_schema   jsonb,
    output_schema  jsonb,
    seen_at        timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE plugin_activities;
DROP TABLE case_number_assignments;
DROP TABLE case_number_counters;
