package temporal

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// BenchmarkVisibilityWrites measures the visibility writes of one workflow
// (start, one search-attribute upsert, close) through the server's own
// SQLite plugin, with Temporal's full visibility schema and with the
// unused indexes dropped (unusedVisibilityIndexes):
//
//	go test ./internal/embedded/temporal -run '^$' -bench VisibilityWrites -count 5
func BenchmarkVisibilityWrites(b *testing.B) {
	for _, all := range []bool{true, false} {
		b.Run(fmt.Sprintf("allIndexes=%v", all), func(b *testing.B) {
			conf := &config.SQL{PluginName: sqliteplugin.PluginName, DatabaseName: filepath.Join(b.TempDir(), "v.db"),
				ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "normal"}}
			if err := sqliteschema.SetupSchema(conf); err != nil {
				b.Fatal(err)
			}
			if !all {
				if err := dropUnusedVisibilityIndexes(conf); err != nil {
					b.Fatal(err)
				}
			}
			db, err := sql.NewSQLDB(sqlplugin.DbKindVisibility, conf, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			ns := uuid.NewString()
			start := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
			b.ResetTimer()
			for i := range b.N {
				row := &sqlplugin.VisibilityRow{NamespaceID: ns, RunID: uuid.NewString(), WorkflowTypeName: "amtsweg.procedure",
					WorkflowID: fmt.Sprintf("application-%d", i), StartTime: start, ExecutionTime: start, Status: 1,
					Encoding: "Proto3", TaskQueue: "amtsweg", RootWorkflowID: fmt.Sprintf("application-%d", i), Version: 1}
				row.RootRunID = row.RunID
				if _, err := db.InsertIntoVisibility(ctx, row); err != nil {
					b.Fatal(err)
				}
				sa := sqlplugin.VisibilitySearchAttributes{"TemporalChangeVersion": []string{"definition-by-hash-1"}}
				row.SearchAttributes, row.Version = &sa, 2
				if _, err := db.ReplaceIntoVisibility(ctx, row); err != nil {
					b.Fatal(err)
				}
				closed := start.Add(time.Minute)
				n := int64(30)
				row.CloseTime, row.Status, row.HistoryLength, row.Version = &closed, 2, &n, 3
				if _, err := db.ReplaceIntoVisibility(ctx, row); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
