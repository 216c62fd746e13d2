package api

import (
	"errors"
	"io"
	"net/http"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/instancemigration"
	"github.com/amtsweg/amtsweg/store"
)

// MigrationRunView is the body of GET /api/v1/migrations/{plan}: a run's
// progress and what it did with the applications of the caller's
// authority.
type MigrationRunView struct {
	Run   store.MigrationRun    `json:"run"`
	Items []store.MigrationItem `json:"items"`
}

// routeMigrations serves instance migration: the designer's dry run of a
// plan and the operator's view of the runs' progress. The migration itself
// runs from the command line (amtsweg definitions migrate).
func (s *Server) routeMigrations(authn func(http.Handler) http.Handler) {
	designer := func(h http.HandlerFunc) http.Handler { return authn(auth.RequireRole(RoleDesigner)(h)) }
	op := func(h http.HandlerFunc) http.Handler { return authn(auth.RequireRole(RoleOperator)(h)) }
	s.mux.Handle("POST /api/v1/migrations/dry-run", designer(s.migrationDryRun))
	s.mux.Handle("GET /api/v1/migrations", op(s.listMigrations))
	s.mux.Handle("GET /api/v1/migrations/{plan}", op(s.getMigration))
}

// migrationDryRun checks the plan in the body (YAML) against the deployed
// versions and lists which running applications of the caller's authority
// it would move and which it cannot, changing nothing.
func (s *Server) migrationDryRun(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	if s.cfg.Procedures == nil {
		writeError(w, http.StatusServiceUnavailable, "the dry run needs the connection to Temporal, which this server lacks", "")
		return
	}
	src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "the plan is larger than 256 KiB", "")
		return
	}
	plan, err := instancemigration.Load(r.Context(), s.cfg.Store, "plan.yaml", src)
	var list definitions.ErrorList
	if errors.As(err, &list) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "the plan has problems", "problems": list})
		return
	}
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error(), "deploy both versions and name them in the plan")
		return
	}
	run := &instancemigration.Runner{Store: s.cfg.Store, Temporal: s.cfg.Procedures.C, Log: s.log}
	rep, err := run.DryRun(r.Context(), plan, p.Tenant)
	if err != nil {
		s.log.Error("migration dry run", "plan", plan.ID, "error", err)
		writeError(w, http.StatusInternalServerError, "the dry run failed", "try again")
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) listMigrations(w http.ResponseWriter, r *http.Request) {
	runs, err := s.cfg.Store.MigrationRuns(r.Context())
	if err != nil {
		s.log.Error("list migration runs", "error", err)
		writeError(w, http.StatusInternalServerError, "cannot list the migration runs", "try again")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// getMigration shows one run's progress; the instances listed are those of
// the operator's authority.
func (s *Server) getMigration(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	id := r.PathValue("plan")
	run, err := s.cfg.Store.MigrationRunByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no migration run of plan "+id, "GET /api/v1/migrations lists them")
		return
	}
	if err != nil {
		s.log.Error("migration run", "plan", id, "error", err)
		writeError(w, http.StatusInternalServerError, "cannot read the migration run", "try again")
		return
	}
	items, err := s.cfg.Store.MigrationItems(r.Context(), id, p.Tenant)
	if err != nil {
		s.log.Error("migration items", "plan", id, "error", err)
		writeError(w, http.StatusInternalServerError, "cannot read the migration run", "try again")
		return
	}
	writeJSON(w, http.StatusOK, MigrationRunView{Run: run, Items: items})
}
