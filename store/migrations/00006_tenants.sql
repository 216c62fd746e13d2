-- The authorities (tenants) and their settings. Not a projection: written
-- by operators (amtsweg tenants calendar), never rebuilt from the topic.

-- +goose Up

-- calendar is the holiday calendar at the authority's seat (§ 31 (3)
-- VwVfG), e.g. DE-TH, or DE-TH-KATH for an Eichsfeld authority; it
-- overrides the calendar a definition names.
CREATE TABLE tenants (
    id         text        PRIMARY KEY,
    calendar   text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE tenants;
