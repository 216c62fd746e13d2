package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/internal/instancemigration"
)

// maxPlanSize bounds an uploaded migration plan (as the API does).
const maxPlanSize = 256 << 10

// migrateView is the designer's migration page: the plan's problems with
// their lines, or the dry run's report.
type migrateView struct {
	Filename  string
	Source    string
	FileError string
	Problem   string
	Problems  []problem
	Lines     []sourceLine
	Report    *instancemigration.DryRunReport
}

func (h *handler) migrateForm(w http.ResponseWriter, r *http.Request, s *session) {
	v := h.newView(w, r, "designer", "designer.migrate")
	v.Session = s
	v.Data = &migrateView{}
	h.render(w, http.StatusOK, "migrate", v)
}

// migrateDryRun checks an uploaded migration plan against the deployed
// versions and shows which running applications of the designer's
// authority it would move and which it cannot, changing nothing. The run
// itself is an operator's (amtsweg definitions migrate).
func (h *handler) migrateDryRun(w http.ResponseWriter, r *http.Request, s *session) {
	v := h.newView(w, r, "designer", "designer.migrate")
	v.Session = s
	mv := &migrateView{}
	v.Data = mv
	f, hdr, err := r.FormFile("plan")
	if err != nil {
		mv.FileError = v.T("migrate.file.missing")
		h.render(w, http.StatusUnprocessableEntity, "migrate", v)
		return
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxPlanSize+1))
	if err != nil {
		h.unavailable(w, r, s, err)
		return
	}
	if len(src) > maxPlanSize {
		mv.FileError = v.T("migrate.file.toolarge")
		h.render(w, http.StatusRequestEntityTooLarge, "migrate", v)
		return
	}
	if len(bytes.TrimSpace(src)) == 0 {
		mv.FileError = v.T("migrate.file.missing")
		h.render(w, http.StatusUnprocessableEntity, "migrate", v)
		return
	}
	mv.Filename, mv.Source = cleanFilename(hdr.Filename), string(src)
	if h.cfg.Procedures == nil {
		h.unavailable(w, r, s, errors.New("not configured: Config.Procedures is nil (the dry run asks the running procedures)"))
		return
	}
	plan, err := instancemigration.Load(r.Context(), h.cfg.Store, mv.Filename, src)
	var list definitions.ErrorList
	if errors.As(err, &list) {
		mv.Lines = sourceLines(mv.Source, list)
		mv.Problems = problems(mv.Lines, list)
		mv.Problem = v.T("migrate.errors", mv.Filename, len(list))
		h.render(w, http.StatusUnprocessableEntity, "migrate", v)
		return
	}
	if err != nil {
		mv.Problem = v.T("migrate.unusable", err.Error())
		mv.Lines = sourceLines(mv.Source, nil)
		h.render(w, http.StatusUnprocessableEntity, "migrate", v)
		return
	}
	run := &instancemigration.Runner{Store: h.cfg.Store, Temporal: h.cfg.Procedures.C, Log: h.log}
	rep, err := run.DryRun(r.Context(), plan, s.P.Tenant)
	if err != nil {
		h.unavailable(w, r, s, err)
		return
	}
	mv.Report = &rep
	h.log.Info("migration dry run from the designer page", "plan", plan.ID, "move", len(rep.Move), "cannot", len(rep.Cannot), "by", s.P.Subject)
	h.render(w, http.StatusOK, "migrate", v)
}
