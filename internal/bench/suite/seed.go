package suite

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/embedded/postgres"
)

// Seeding writes read-model rows straight into the projection tables with
// COPY, in the shape the projector gives them (store/apply.go): applying
// millions of synthetic events one batch at a time would take the better
// part of an hour, and the lookups only read the tables.

// seedRef is the reference of seeded application i.
func seedRef(i int) string { return fmt.Sprintf("SEED-%08d", i) }

// seedAccessCode is the access code of seeded application i: derived from
// i, so the load generator knows every application's code without storing
// a million of them.
func seedAccessCode(i int) string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(i))
	sum := sha256.Sum256(append([]byte("amtsweg-bench-seed/"), buf[:]...))
	var b strings.Builder
	for j := range 12 {
		if j > 0 && j%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[int(sum[j])%len(alphabet)])
	}
	return b.String()
}

func seedTenant(i, tenants int) string { return fmt.Sprintf("amt-%02d", i%tenants) }

func localJSON(de, en string) string {
	b, _ := json.Marshal(events.LocalText{De: de, En: en})
	return string(b)
}

var (
	seedTitle      = localJSON("Bauantrag", "Building permit")
	seedMilestones = func() string {
		b, _ := json.Marshal([]events.MilestoneInfo{
			{ID: "received", Title: events.LocalText{De: "Eingegangen", En: "Received"}},
			{ID: "in-review", Title: events.LocalText{De: "In Bearbeitung", En: "In review"},
				Description: events.LocalText{De: "Ihr Antrag wird geprüft.", En: "Your application is being reviewed."}},
			{ID: "decided", Title: events.LocalText{De: "Entschieden", En: "Decided"}},
		})
		return string(b)
	}()
	seedMilestoneTitle = localJSON("In Bearbeitung", "In review")
	seedMilestoneDesc  = localJSON("Ihr Antrag wird geprüft.", "Your application is being reviewed.")
	seedTimeline       = []string{
		localJSON("Ihr Antrag ist eingegangen.", "Your application has been received."),
		localJSON("Das Aktenzeichen wurde vergeben.", "A file number has been assigned."),
		localJSON("Die Gebühr wurde berechnet.", "The fee has been computed."),
		localJSON("Ihr Antrag ist vollständig.", "Your application is complete."),
		localJSON("Die Fachbehörden wurden beteiligt.", "The specialist authorities have been consulted."),
		localJSON("Die Stellungnahme der Feuerwehr liegt vor.", "The fire service has replied."),
		localJSON("Die Stellungnahme des Denkmalschutzes liegt vor.", "Monument protection has replied."),
		localJSON("Die Nachbarn wurden benachrichtigt.", "The neighbours have been notified."),
		localJSON("Ihr Antrag wird geprüft.", "Your application is being reviewed."),
		localJSON("Der Bescheid wird vorbereitet.", "The notice is being prepared."),
	}
)

// seedApplications copies n applications with entries timeline entries each
// into applications and timeline, in parallel ranges.
func seedApplications(ctx context.Context, db *pgxpool.Pool, n, entries, tenants int) error {
	t0 := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	appCols := []string{"reference", "tenant", "procedure", "version", "definition_hash", "title", "access_code_sha256",
		"received_at", "applicant", "payload", "milestones", "milestone_id", "milestone_title", "milestone_description",
		"milestone_seq", "status", "next_deadline_id", "next_deadline_due", "next_deadline_title", "last_seq"}
	tlCols := []string{"reference", "seq", "time", "text", "internal"}
	reqCols := []string{"reference", "id", "tenant", "text", "due", "state", "opened_at", "last_seq"}
	reqText := localJSON("Bitte reichen Sie den Lageplan nach.", "Please submit the site plan.")
	deadlineTitle := localJSON("Entscheidungsfrist", "Decision period")
	const parts = 4
	g, gctx := errgroup.WithContext(ctx)
	for p := range parts {
		lo, hi := n*p/parts, n*(p+1)/parts
		g.Go(func() error {
			i := lo
			_, err := db.CopyFrom(gctx, pgx.Identifier{"applications"}, appCols, pgx.CopyFromFunc(func() ([]any, error) {
				if i >= hi {
					return nil, nil
				}
				sum := sha256.Sum256([]byte(events.CanonicalAccessCode(seedAccessCode(i))))
				at := t0.Add(time.Duration(i) * time.Second)
				row := []any{seedRef(i), seedTenant(i, tenants), "bauantrag", "1.0.0", "sha256-bench", seedTitle, sum[:],
					at, `{"name":"Erika Mustermann"}`, `{"parcel":"Flur 3, Flurstück 17"}`, seedMilestones, "in-review",
					seedMilestoneTitle, seedMilestoneDesc, int64(3), "running", "decision", at.AddDate(0, 3, 0), deadlineTitle, int64(entries + 1)}
				i++
				return row, nil
			}))
			if err != nil {
				return fmt.Errorf("seed applications %d..%d: %w", lo, hi, err)
			}
			return nil
		})
		g.Go(func() error {
			i, k := lo, 0
			_, err := db.CopyFrom(gctx, pgx.Identifier{"timeline"}, tlCols, pgx.CopyFromFunc(func() ([]any, error) {
				if i >= hi {
					return nil, nil
				}
				at := t0.Add(time.Duration(i)*time.Second + time.Duration(k)*time.Hour)
				row := []any{seedRef(i), int64(k + 2), at, seedTimeline[k%len(seedTimeline)], false}
				if k++; k == entries {
					i, k = i+1, 0
				}
				return row, nil
			}))
			if err != nil {
				return fmt.Errorf("seed timeline %d..%d: %w", lo, hi, err)
			}
			return nil
		})
	}
	// Every tenth application waits on the applicant: an open request.
	g.Go(func() error {
		i := 0
		_, err := db.CopyFrom(gctx, pgx.Identifier{"requests"}, reqCols, pgx.CopyFromFunc(func() ([]any, error) {
			if i >= n {
				return nil, nil
			}
			at := t0.Add(time.Duration(i)*time.Second + 30*time.Hour)
			row := []any{seedRef(i), "lageplan", seedTenant(i, tenants), reqText, at.AddDate(0, 0, 14), "open", at, int64(entries + 1)}
			i += 10
			return row, nil
		}))
		if err != nil {
			return fmt.Errorf("seed requests: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	return settle(ctx, db, "applications", "timeline", "requests")
}

// settle vacuums and analyses freshly seeded tables and forces a
// checkpoint, as a database that has run for a while would be: otherwise
// autovacuum and the checkpointer would work through the seed during the
// load and the load would measure them.
func settle(ctx context.Context, db *pgxpool.Pool, tables ...string) error {
	for _, t := range tables {
		if _, err := db.Exec(ctx, `VACUUM (ANALYZE) `+pgx.Identifier{t}.Sanitize()); err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
	}
	if _, err := db.Exec(ctx, `CHECKPOINT`); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// seedTasks copies n open tasks spread over tenants into the worklist: most
// for role benchRole, some for a team lead, a few claimed by the tenant's
// clerk (seedClerk), due dates over a year.
func seedTasks(ctx context.Context, db *pgxpool.Pool, n, tenants int) error {
	cols := []string{"id", "reference", "tenant", "procedure", "version", "step", "title", "role", "assignee", "status",
		"created_at", "due", "form", "last_seq"}
	title := localJSON("Antrag prüfen und entscheiden", "Review and decide")
	form := `{"type":"object","required":["approved"],"properties":{"approved":{"type":"boolean"}}}`
	t0 := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	i := 0
	_, err := db.CopyFrom(ctx, pgx.Identifier{"tasks"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if i >= n {
			return nil, nil
		}
		tenant := seedTenant(i, tenants)
		role, status := benchRole, "open"
		var assignee any
		// The tenant's own count decides, so that every tenant has the mix.
		switch j := i / tenants; {
		case j%10 == 7:
			role = "teamleitung"
		case j%50 == 3:
			assignee, status = seedClerk(tenant), "claimed"
		}
		at := t0.Add(time.Duration(i) * time.Minute)
		row := []any{fmt.Sprintf("TASK-%08d.t1", i), fmt.Sprintf("TASK-%08d", i), tenant, "bauantrag", "1.0.0", "pruefen", title,
			role, assignee, status, at, at.AddDate(0, 0, 14+(i*7919)%365), form, int64(4)}
		i++
		return row, nil
	}))
	if err != nil {
		return fmt.Errorf("seed tasks: %w", err)
	}
	return settle(ctx, db, "tasks")
}

// seedClerk is the clerk of a seeded tenant.
func seedClerk(tenant string) string { return "clerk@" + tenant }

// scanCounters reads the scan counters of the tables.
func scanCounters(ctx context.Context, db *pgxpool.Pool, tables []string) (map[string]TableScans, error) {
	rows, err := db.Query(ctx, `SELECT relname, COALESCE(seq_scan, 0), COALESCE(idx_scan, 0), COALESCE(seq_tup_read, 0)
		FROM pg_stat_user_tables WHERE relname = ANY($1)`, tables)
	if err != nil {
		return nil, fmt.Errorf("scan counters: %w", err)
	}
	defer rows.Close()
	out := map[string]TableScans{}
	for rows.Next() {
		var s TableScans
		if err := rows.Scan(&s.Table, &s.SeqScans, &s.IdxScans, &s.SeqTupRead); err != nil {
			return nil, err
		}
		out[s.Table] = s
	}
	return out, rows.Err()
}

// scanDelta is after minus before, per table, in the order of tables.
func scanDelta(before, after map[string]TableScans, tables []string) []TableScans {
	out := make([]TableScans, 0, len(tables))
	for _, t := range tables {
		a, b := after[t], before[t]
		out = append(out, TableScans{Table: t, SeqScans: a.SeqScans - b.SeqScans, IdxScans: a.IdxScans - b.IdxScans, SeqTupRead: a.SeqTupRead - b.SeqTupRead})
	}
	return out
}

// capturedStatement records the statements the system's connections run
// while trigger runs (log_min_duration_statement = 0 for a moment, through
// ALTER SYSTEM and a reload, so that it reaches the pool's open
// connections), and returns from the server's log the last executed
// statement that contains marker, with its parameters as SQL literals: the
// system's own SQL with real values, not a copy of it, for EXPLAIN.
func capturedStatement(ctx context.Context, db *pgxpool.Pool, marker string, trigger func() error) (string, []string, error) {
	var dataDir string
	if err := db.QueryRow(ctx, `SHOW data_directory`).Scan(&dataDir); err != nil {
		return "", nil, fmt.Errorf("capture a statement: %w", err)
	}
	logPath := filepath.Join(dataDir, postgres.LogFile)
	fi, err := os.Stat(logPath)
	if err != nil {
		return "", nil, fmt.Errorf("capture a statement: the server log: %w", err)
	}
	setLogging := func(on bool) error {
		stmt := `ALTER SYSTEM RESET log_min_duration_statement`
		if on {
			stmt = `ALTER SYSTEM SET log_min_duration_statement = 0`
		}
		if _, err := db.Exec(ctx, stmt); err != nil {
			return err
		}
		_, err := db.Exec(ctx, `SELECT pg_reload_conf()`)
		return err
	}
	if err := setLogging(true); err != nil {
		return "", nil, fmt.Errorf("capture a statement: %w", err)
	}
	time.Sleep(300 * time.Millisecond) // backends take the reload before their next command
	terr := trigger()
	if err := setLogging(false); err != nil {
		return "", nil, fmt.Errorf("capture a statement: %w", err)
	}
	if terr != nil {
		return "", nil, terr
	}
	time.Sleep(200 * time.Millisecond)
	f, err := os.Open(logPath)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	if _, err := f.Seek(fi.Size(), io.SeekStart); err != nil {
		return "", nil, err
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return "", nil, err
	}
	return lastExecuted(string(raw), marker)
}

var (
	executeLine = regexp.MustCompile(`LOG:\s+duration: [0-9.]+ ms\s+execute [^:]*: `)
	paramValue  = regexp.MustCompile(`\$(\d+) = ('(?:[^']|'')*'|NULL)`)
)

// lastExecuted parses a PostgreSQL server log (stderr format, continuation
// lines indented with a tab) for the last "execute" entry whose statement
// contains marker and returns the statement and its parameters.
func lastExecuted(log, marker string) (string, []string, error) {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		loc := executeLine.FindStringIndex(lines[i])
		if loc == nil {
			continue
		}
		stmt := []string{lines[i][loc[1]:]}
		j := i + 1
		for ; j < len(lines) && strings.HasPrefix(lines[j], "\t"); j++ {
			stmt = append(stmt, lines[j][1:])
		}
		query := strings.Join(stmt, "\n")
		if !strings.Contains(query, marker) {
			continue
		}
		var params []string
		if j < len(lines) && strings.Contains(lines[j], "DETAIL:  parameters:") {
			detail := lines[j]
			for k := j + 1; k < len(lines) && strings.HasPrefix(lines[k], "\t"); k++ {
				detail += "\n" + lines[k][1:]
			}
			for _, m := range paramValue.FindAllStringSubmatch(detail, -1) {
				n, _ := strconv.Atoi(m[1])
				for len(params) < n {
					params = append(params, "NULL")
				}
				params[n-1] = m[2]
			}
		}
		return query, params, nil
	}
	return "", nil, fmt.Errorf("no executed statement containing %q in the server log", marker)
}

var explained atomic.Int64

// explain prepares query and explains its execution with args (SQL
// literals, e.g. 'amt-01' or NULL); generic forces the generic plan that a cached
// prepared statement ends up with, otherwise the plan is custom for args.
func explain(ctx context.Context, db *pgxpool.Pool, query string, analyze, generic bool, args ...string) (string, error) {
	conn, err := db.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	mode := "force_custom_plan"
	if generic {
		mode = "force_generic_plan"
	}
	name := fmt.Sprintf("bench_explained_%d", explained.Add(1))
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode+"; PREPARE "+name+" AS "+query); err != nil {
		return "", fmt.Errorf("prepare the captured query: %w", err)
	}
	// Session state outlives this call: put it back.
	defer conn.Exec(context.WithoutCancel(ctx), "DEALLOCATE "+name+"; RESET plan_cache_mode") //nolint:errcheck // best effort
	opts := "COSTS OFF"
	if analyze {
		opts = "ANALYZE, BUFFERS, COSTS OFF"
	}
	rows, err := conn.Query(ctx, fmt.Sprintf("EXPLAIN (%s) EXECUTE %s(%s)", opts, name, strings.Join(args, ", ")))
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return "", err
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n"), rows.Err()
}
