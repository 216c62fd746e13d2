package suite

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/stack"
)

// bareStatus is the status lookup's baseline: a bare net/http server that
// runs the API's own statement (captured from PostgreSQL's log, so it
// reads exactly the rows the API reads) through pgx, checks the access
// code against the row's hash and writes the row as JSON (a statement that
// builds the document itself returns it as its one other column, written
// as it is). No rate limits, no headers, no shaping: the floor of what the
// endpoint can cost.
type bareStatus struct {
	srv      *http.Server
	pool     *pgxpool.Pool
	URL      string
	PoolSize int32
	extra    []any
}

// startBareStatus serves GET /status/{reference} on a loopback port with a
// pool of the given size (0: the API's, stack.DefaultAPIPool). The
// statement's parameters after the reference are extra, the API's values
// (language, texts) captured with it.
func startBareStatus(ctx context.Context, url, query string, extra []any, poolSize int32) (*bareStatus, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("bare status baseline: %w", err)
	}
	pcfg.MaxConns = cmp.Or(poolSize, stack.DefaultAPIPool)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("bare status baseline: connect: %w", err)
	}
	b := &bareStatus{pool: pool, PoolSize: pcfg.MaxConns, extra: extra}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status/{reference}", func(w http.ResponseWriter, r *http.Request) {
		doc, err := b.lookup(r.Context(), query, r.PathValue("reference"), r.Header.Get("X-Access-Code"))
		switch {
		case errors.Is(err, errBareNotFound):
			http.Error(w, "not found", http.StatusNotFound)
		case err != nil:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(doc)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("bare status baseline: %w", err)
	}
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	b.URL = "http://" + ln.Addr().String()
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

var errBareNotFound = errors.New("no such application")

// lookup runs the statement for reference and returns its row as a JSON
// object keyed by column name, without the access code's hash.
func (b *bareStatus) lookup(ctx context.Context, query, reference, code string) ([]byte, error) {
	rows, err := b.pool.Query(ctx, query, append([]any{reference}, b.extra...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, errBareNotFound
	}
	vals, err := rows.Values()
	if err != nil {
		return nil, err
	}
	fields := rows.FieldDescriptions()
	doc := make(map[string]any, len(vals))
	var stored []byte
	for i, f := range fields {
		if f.Name == "access_code_sha256" {
			stored, _ = vals[i].([]byte)
			continue
		}
		doc[f.Name] = vals[i]
	}
	rows.Close()
	sum := sha256.Sum256([]byte(events.CanonicalAccessCode(code)))
	if subtle.ConstantTimeCompare(sum[:], stored) != 1 {
		return nil, errBareNotFound
	}
	if len(doc) == 1 {
		for _, v := range doc {
			if s, ok := v.(string); ok {
				return []byte(s), nil
			}
		}
	}
	return json.Marshal(doc)
}

func (b *bareStatus) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
	b.pool.Close()
}

// sqlLiterals turns the parameters of a captured statement (SQL literals
// as the server log writes them: 'text' or NULL) into query arguments.
func sqlLiterals(lits []string) []any {
	args := make([]any, len(lits))
	for i, l := range lits {
		if l == "NULL" {
			continue
		}
		args[i] = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(l, "'"), "'"), "''", "'")
	}
	return args
}
