package temporal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// VisibilityFileName is the SQLite database of the visibility store in
// Options.DataDir with Options.OwnVisibilityFile.
const VisibilityFileName = "visibility.db"

// visibilityStoreName is the data store of a visibility database of its own.
const visibilityStoreName = "sqlite-visibility"

// unusedVisibilityIndexes are the indexes of executions_visibility
// (Temporal v1.32's SQLite schema) dropped unless
// Options.AllVisibilityIndexes: one per system and pre-allocated custom
// search attribute, which SQLite updates on every visibility write
// (start, search-attribute upsert, close) although nothing here queries
// them. Kept are what Amtsweg and the Web UI query: the default listing,
// by execution time, workflow id, type and status
// (procworker.StuckWatcher's query), and the schedules' namespace
// division. Dropping an index never changes a query's answer, only its
// speed: a list filtered by a dropped attribute scans the table.
var unusedVisibilityIndexes = []string{
	"by_history_length", "by_history_size_bytes", "by_execution_duration",
	"by_state_transition_count", "by_task_queue", "by_parent_workflow_id",
	"by_parent_run_id", "by_root_workflow_id", "by_root_run_id",
	"by_batcher_user", "by_temporal_scheduled_start_time",
	"by_temporal_scheduled_by_id", "by_temporal_schedule_paused",
	"by_temporal_pause_info", "by_temporal_worker_deployment_version",
	"by_temporal_workflow_versioning_behavior",
	"by_temporal_worker_deployment", "by_bool_01", "by_bool_02", "by_bool_03",
	"by_datetime_01", "by_datetime_02", "by_datetime_03", "by_double_01",
	"by_double_02", "by_double_03", "by_int_01", "by_int_02", "by_int_03",
	"by_keyword_01", "by_keyword_02", "by_keyword_03", "by_keyword_04",
	"by_keyword_05", "by_keyword_06", "by_keyword_07", "by_keyword_08",
	"by_keyword_09", "by_keyword_10", "by_temporal_bool_01",
	"by_temporal_bool_02", "by_temporal_datetime_01",
	"by_temporal_datetime_02", "by_temporal_double_01",
	"by_temporal_double_02", "by_temporal_int_01", "by_temporal_int_02",
	"by_temporal_keyword_01", "by_temporal_keyword_02",
	"by_temporal_keyword_03", "by_temporal_keyword_04",
	"by_temporal_low_cardinality_keyword_01",
}

// dropUnusedVisibilityIndexes drops unusedVisibilityIndexes in the
// database of conf (idempotent).
func dropUnusedVisibilityIndexes(conf *config.SQL) error {
	db, err := sql.NewSQLAdminDB(sqlplugin.DbKindVisibility, conf, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("open %s: %w", conf.DatabaseName, err)
	}
	defer db.Close()
	for _, name := range unusedVisibilityIndexes {
		if err := db.Exec("DROP INDEX IF EXISTS " + name); err != nil {
			return fmt.Errorf("drop visibility index %s in %s: %w", name, conf.DatabaseName, err)
		}
	}
	return nil
}

// visibilitySQL returns the SQL config of a visibility database of its own
// in dataDir, creating its schema when the file is new. A data directory
// whose temporal.db predates this option (it exists, visibility.db does
// not) keeps its visibility in temporal.db: moving it would hide the
// workflows recorded there from lists and from the stuck watcher.
func visibilitySQL(dataDir string, main *config.SQL, mainIsNew bool) (*config.SQL, error) {
	name := filepath.Join(dataDir, VisibilityFileName)
	_, err := os.Stat(name)
	switch {
	case errors.Is(err, os.ErrNotExist) && !mainIsNew:
		return nil, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	conf := *main
	conf.ConnectAttributes = map[string]string{}
	for k, v := range main.ConnectAttributes {
		conf.ConnectAttributes[k] = v
	}
	conf.DatabaseName = name
	if errors.Is(err, os.ErrNotExist) {
		// The schema has both stores' tables; only the visibility tables
		// of this file are used.
		if err := sqliteschema.SetupSchema(&conf); err != nil {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(name + suffix)
			}
			return nil, fmt.Errorf("create schema in %s: %w", name, err)
		}
	}
	return &conf, nil
}
