-- Incidents have a kind: "step", a step that failed finally (raised by
-- the workflow's incident event, as before), or "workflow-task", a
-- procedure whose workflow task keeps failing, so that the workflow
-- cannot even record an incident itself; the worker's watcher raises and
-- resolves those from what Temporal reports (TemporalReportedProblems).
-- A workflow-task incident has seq 0 (events count from 1): one per
-- application at a time.

-- +goose Up
ALTER TABLE incidents ADD COLUMN kind text NOT NULL DEFAULT 'step'
    CHECK (kind IN ('step', 'workflow-task'));
CREATE INDEX incidents_open_workflow_task ON incidents (reference) WHERE kind = 'workflow-task' AND state = 'open';

-- +goose Down
DROP INDEX incidents_open_workflow_task;
ALTER TABLE incidents DROP COLUMN kind;
