package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/calendar"
	"github.com/amtsweg/amtsweg/definitions/diagram"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/registry"
	"github.com/amtsweg/amtsweg/store"
)

// RoleDesigner is the role that may deploy procedure definitions.
const RoleDesigner = "designer"

// MaxDefinitionSize bounds the YAML document of one deployment; the
// largest bundled definition is a small fraction of it.
const MaxDefinitionSize = 2 << 20

// DefinitionProblem is one validation error of a refused deployment: where
// it is (file, 1-based line and column, 0 when unknown; the path of the
// field in the document), what is wrong and how to fix it.
type DefinitionProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Path    string `json:"path"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// DefinitionRefused is the body of a 422 answer to a deployment: the
// definition was not deployed because of Errors.
type DefinitionRefused struct {
	Error  string              `json:"error"`
	Hint   string              `json:"hint"`
	Errors []DefinitionProblem `json:"errors"`
}

// Deployment states of DeployResponse.Status.
const (
	DeployCreated   = "created"
	DeployUnchanged = "unchanged"
)

// DeployResponse is the body of a successful deployment: 201 with Status
// "created", or 200 with Status "unchanged" when the identical definition
// (same content hash) was deployed before.
type DeployResponse struct {
	Key     string `json:"key"`
	Version string `json:"version"`
	Hash    string `json:"hash"`
	Status  string `json:"status"`
	// URL is the API path of the deployed version.
	URL string `json:"url"`
}

// InstanceCounts are the applications pinned to a definition version.
type InstanceCounts struct {
	// Total counts all applications that started on the version.
	Total int64 `json:"total"`
	// Running counts those not completed (including those with an
	// incident).
	Running int64 `json:"running"`
}

// DefinitionSummary is a deployed definition version in lists.
type DefinitionSummary struct {
	Key        string           `json:"key"`
	Version    string           `json:"version"`
	Hash       string           `json:"hash"`
	Title      events.LocalText `json:"title"`
	ValidFrom  string           `json:"validFrom"`
	DeployedAt time.Time        `json:"deployedAt"`
	DeployedBy string           `json:"deployedBy"`
	// Current is true for the version new applications of the key take
	// today: the highest version whose validFrom has come.
	Current   bool           `json:"current"`
	Instances InstanceCounts `json:"instances"`
	URL       string         `json:"url"`
}

// DefinitionList is the body of GET /api/v1/definitions.
type DefinitionList struct {
	Definitions []DefinitionSummary `json:"definitions"`
}

// DefinitionDetail is the body of GET /api/v1/definitions/{key}/{version}:
// the summary, the parsed model (definitions.Procedure as JSON) and the
// YAML source as deployed.
type DefinitionDetail struct {
	DefinitionSummary
	Model  json.RawMessage `json:"model"`
	Source string          `json:"source"`
}

// routeDefinitions serves the designers' definition API. Every route needs
// a bearer token; deploying needs the role RoleDesigner.
func (s *Server) routeDefinitions() {
	if s.cfg.Verifier == nil {
		s.log.Warn("definitions API not served: no token verifier configured")
		return
	}
	authn := s.cfg.Verifier.Middleware
	designer := auth.RequireRole(RoleDesigner)
	s.mux.Handle("POST /api/v1/definitions", authn(designer(http.HandlerFunc(s.deployDefinition))))
	s.mux.Handle("GET /api/v1/definitions", authn(http.HandlerFunc(s.listDefinitions)))
	s.mux.Handle("GET /api/v1/definitions/{key}/{version}", authn(http.HandlerFunc(s.getDefinition)))
	s.mux.Handle("GET /api/v1/definitions/{key}/{version}/diagram", authn(http.HandlerFunc(s.definitionDiagram)))
}

// definitionPath is the API path of one deployed version.
func definitionPath(key, version string) string {
	return "/api/v1/definitions/" + url.PathEscape(key) + "/" + url.PathEscape(version)
}

func (s *Server) deployDefinition(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p, _ := auth.FromContext(r.Context())
	name, src, status, msg, hint := readDefinitionUpload(w, r)
	if status != 0 {
		writeError(w, status, msg, hint)
		return
	}
	res, err := s.cfg.Deployer.Deploy(r.Context(), name, src, p.Subject)
	if list, ok := registry.IsValidation(err); ok {
		s.log.Info("definition refused", "file", name, "by", p.Subject, "problems", len(list))
		writeJSON(w, http.StatusUnprocessableEntity, refusal(list))
		return
	}
	if errors.Is(err, store.ErrVersionConflict) {
		writeError(w, http.StatusConflict,
			fmt.Sprintf("%s %s is already deployed with different content", res.Ref.Key, res.Ref.Version),
			s.bumpHint(r, res.Ref.Key))
		return
	}
	if err != nil {
		s.log.Error("deploy definition", "file", name, "by", p.Subject, "error", err)
		writeError(w, http.StatusInternalServerError, "the definition could not be deployed",
			"nothing was deployed; try again, and if it persists tell the operators")
		return
	}
	out := DeployResponse{Key: res.Ref.Key, Version: res.Ref.Version, Hash: res.Ref.Hash, Status: DeployUnchanged,
		URL: definitionPath(res.Ref.Key, res.Ref.Version)}
	code := http.StatusOK
	if res.Created {
		out.Status, code = DeployCreated, http.StatusCreated
		w.Header().Set("Location", out.URL)
		s.log.Info("definition deployed", "key", res.Ref.Key, "version", res.Ref.Version, "hash", res.Ref.Hash,
			"by", p.Subject, "tenant", p.Tenant)
	}
	writeJSON(w, code, out)
}

// refusal turns validation errors into the 422 body.
func refusal(list definitions.ErrorList) DefinitionRefused {
	out := DefinitionRefused{
		Error:  fmt.Sprintf("the definition has %d problem%s and was not deployed", len(list), pluralS(len(list))),
		Hint:   "fix each problem at the line and column given and deploy again; `amtsweg definitions validate FILE` checks a file locally",
		Errors: make([]DefinitionProblem, 0, len(list)),
	}
	for _, e := range list {
		out.Errors = append(out.Errors, DefinitionProblem{File: e.File, Line: e.Line, Column: e.Column,
			Path: e.Path, Message: e.Msg, Fix: e.Fix})
	}
	return out
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// bumpHint tells the designer which versions are free: the next patch,
// minor and major release after the highest deployed version of key.
func (s *Server) bumpHint(r *http.Request, key string) string {
	const generic = "a deployed version is never changed: raise the version in the file (e.g. the patch number) and deploy again"
	list, err := s.cfg.Deployer.Store.ListDefinitions(r.Context(), key)
	if err != nil || len(list) == 0 {
		return generic
	}
	v, err := semver.StrictNewVersion(list[0].Version)
	if err != nil {
		return generic
	}
	return fmt.Sprintf("a deployed version is never changed: the highest deployed version of %s is %s; set version to %s (fix), %s (extension) or %s (incompatible change) and deploy again",
		key, v, v.IncPatch(), v.IncMinor(), v.IncMajor())
}

// readDefinitionUpload reads the YAML document of a deployment: the body
// itself (Content-Type application/yaml, text/yaml, application/json or
// application/octet-stream), or the part "file" of a multipart/form-data
// upload. The file name, used in error positions, is the upload's file
// name, else the filename of a Content-Disposition header or the query
// parameter filename, else "definition.yaml". A non-zero status means the
// request is refused with msg and hint.
func readDefinitionUpload(w http.ResponseWriter, r *http.Request) (name string, src []byte, status int, msg, hint string) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxDefinitionSize+64<<10)
	name = uploadName(r.URL.Query().Get("filename"))
	if cd := r.Header.Get("Content-Disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil && params["filename"] != "" {
			name = uploadName(params["filename"])
		}
	}
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", nil, http.StatusUnsupportedMediaType, "missing or malformed Content-Type",
			"send the definition as Content-Type: application/yaml, or as the part \"file\" of a multipart/form-data upload"
	}
	var body io.Reader = r.Body
	switch ct {
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "application/json", "application/octet-stream", "text/plain":
	case "multipart/form-data":
		part, pname, st, m, h := multipartFile(r.Body, params["boundary"])
		if st != 0 {
			return "", nil, st, m, h
		}
		defer part.Close()
		body = part
		if pname != "" {
			name = uploadName(pname)
		}
	default:
		return "", nil, http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported Content-Type %s", ct),
			"send the definition as Content-Type: application/yaml, or as the part \"file\" of a multipart/form-data upload"
	}
	src, err = io.ReadAll(io.LimitReader(body, MaxDefinitionSize+1))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || len(src) > MaxDefinitionSize {
		return "", nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("the definition is larger than %d MiB", MaxDefinitionSize>>20),
			"a procedure definition is a text file of some kilobytes; check that the right file is sent"
	}
	if err != nil {
		return "", nil, http.StatusBadRequest, "the request body could not be read: " + err.Error(), "send the upload again"
	}
	if len(strings.TrimSpace(string(src))) == 0 {
		return "", nil, http.StatusBadRequest, "the definition is empty", "send the YAML document of the procedure definition as the request body"
	}
	return name, src, 0, "", ""
}

// multipartFile finds the part named "file" of a multipart/form-data body.
func multipartFile(body io.Reader, boundary string) (part *multipart.Part, filename string, status int, msg, hint string) {
	const want = "send one definition as the form field \"file\", e.g. curl -F file=@bauantrag.yaml"
	if boundary == "" {
		return nil, "", http.StatusBadRequest, "multipart/form-data without a boundary", want
	}
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", http.StatusBadRequest, "the upload has no part named \"file\"", want
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, "", http.StatusRequestEntityTooLarge, "the upload is too large", want
		}
		if err != nil {
			return nil, "", http.StatusBadRequest, "malformed multipart upload: " + err.Error(), want
		}
		if p.FormName() == "file" {
			return p, p.FileName(), 0, "", ""
		}
		p.Close()
	}
}

// uploadName is a file name fit for error messages: the base name, at most
// 200 bytes, printable.
func uploadName(n string) string {
	n = path.Base(strings.ReplaceAll(strings.TrimSpace(n), "\\", "/"))
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, n)
	if n == "" || n == "." || n == "/" {
		return "definition.yaml"
	}
	if len(n) > 200 {
		n = n[:200]
	}
	return n
}

// listDefinitions answers GET /api/v1/definitions[?key=K].
func (s *Server) listDefinitions(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	list, err := s.cfg.Deployer.Store.ListDefinitions(r.Context(), r.URL.Query().Get("key"))
	if err != nil {
		s.log.Error("list definitions", "error", err)
		writeError(w, http.StatusServiceUnavailable, "definitions temporarily unavailable", "try again in a few minutes")
		return
	}
	out := DefinitionList{Definitions: summaries(list, time.Now())}
	writeJSON(w, http.StatusOK, out)
}

// summaries converts the store's list (by key, newest version first) and
// marks per key the version new applications take on the day of now, as
// store.LatestDefinition chooses it.
func summaries(list []store.DefinitionSummary, now time.Time) []DefinitionSummary {
	today := now.In(calendar.Berlin()).Format(time.DateOnly)
	out := make([]DefinitionSummary, 0, len(list))
	current := map[string]bool{}
	for _, d := range list {
		sm := summary(d)
		if !current[d.Key] && sm.ValidFrom <= today {
			sm.Current, current[d.Key] = true, true
		}
		out = append(out, sm)
	}
	return out
}

func summary(d store.DefinitionSummary) DefinitionSummary {
	return DefinitionSummary{
		Key: d.Key, Version: d.Version, Hash: d.Hash, Title: d.Title,
		ValidFrom:  d.ValidFrom.Format(time.DateOnly),
		DeployedAt: d.DeployedAt, DeployedBy: d.DeployedBy,
		Instances: InstanceCounts{Total: d.Instances, Running: d.Running},
		URL:       definitionPath(d.Key, d.Version),
	}
}

// definitionRecord loads the addressed version, or answers 404 or 503.
func (s *Server) definitionRecord(w http.ResponseWriter, r *http.Request) (store.DefinitionRecord, bool) {
	key, version := r.PathValue("key"), r.PathValue("version")
	rec, err := s.cfg.Deployer.Store.Definition(r.Context(), key, version)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no definition %s %s is deployed", key, version),
			"GET /api/v1/definitions?key="+url.QueryEscape(key)+" lists the deployed versions")
		return rec, false
	}
	if err != nil {
		s.log.Error("read definition", "key", key, "version", version, "error", err)
		writeError(w, http.StatusServiceUnavailable, "definitions temporarily unavailable", "try again in a few minutes")
		return rec, false
	}
	return rec, true
}

// getDefinition answers GET /api/v1/definitions/{key}/{version}: JSON with
// model and source, or the YAML source alone when the client accepts
// application/yaml and not JSON.
func (s *Server) getDefinition(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.definitionRecord(w, r)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("Vary", "Accept")
	if wantsYAML(r.Header.Get("Accept")) {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": rec.Key + "-" + rec.Version + ".yaml"}))
		_, _ = io.WriteString(w, rec.Source)
		return
	}
	list, err := s.cfg.Deployer.Store.ListDefinitions(r.Context(), rec.Key)
	if err != nil {
		s.log.Error("list definitions", "key", rec.Key, "error", err)
		writeError(w, http.StatusServiceUnavailable, "definitions temporarily unavailable", "try again in a few minutes")
		return
	}
	out := DefinitionDetail{Model: rec.Model, Source: rec.Source}
	for _, sm := range summaries(list, time.Now()) {
		if sm.Version == rec.Version {
			out.DefinitionSummary = sm
		}
	}
	if out.Key == "" {
		// Not in the list read after the record: answer without counts.
		out.DefinitionSummary = DefinitionSummary{Key: rec.Key, Version: rec.Version, Hash: rec.Hash, Title: rec.Title,
			ValidFrom: rec.ValidFrom.Format(time.DateOnly), DeployedAt: rec.DeployedAt, DeployedBy: rec.DeployedBy,
			URL: definitionPath(rec.Key, rec.Version)}
	}
	writeJSON(w, http.StatusOK, out)
}

// wantsYAML reports whether Accept names a YAML type and no JSON type.
func wantsYAML(accept string) bool {
	yamlOK, jsonOK := false, false
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
			yamlOK = true
		case "application/json", "*/*", "application/*":
			jsonOK = true
		}
	}
	return yamlOK && !jsonOK
}

// definitionDiagram answers GET /api/v1/definitions/{key}/{version}/diagram
// with an SVG drawing (format=svg, the default) or Mermaid text
// (format=mermaid), labelled in the language of lang or Accept-Language.
func (s *Server) definitionDiagram(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "svg"
	}
	if format != "svg" && format != "mermaid" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown diagram format %q", format), "use format=svg (default) or format=mermaid")
		return
	}
	rec, ok := s.definitionRecord(w, r)
	if !ok {
		return
	}
	lang := requestLanguage(r)
	h := w.Header()
	h.Set("Vary", "Accept-Language")
	h.Set("Content-Language", lang)
	h.Set("Cache-Control", "private, max-age=3600")
	// A deployed version never changes, so its hash names the drawing.
	etag := fmt.Sprintf(`"%s-%s-%s"`, rec.Hash, format, lang)
	h.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var p definitions.Procedure
	if err := json.Unmarshal(rec.Model, &p); err != nil {
		s.log.Error("decode stored definition model", "key", rec.Key, "version", rec.Version, "error", err)
		writeError(w, http.StatusInternalServerError, "the stored definition cannot be read", "tell the operators")
		return
	}
	opts := diagram.Options{Lang: lang}
	if format == "mermaid" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, diagram.MermaidWith(&p, opts))
		return
	}
	svg, err := diagram.SVGWith(&p, opts)
	if err != nil {
		s.log.Error("draw definition", "key", rec.Key, "version", rec.Version, "error", err)
		writeError(w, http.StatusInternalServerError, "the diagram could not be drawn", "the Mermaid form (format=mermaid) may still work; tell the operators")
		return
	}
	h.Set("Content-Type", "image/svg+xml")
	// Opened directly, the drawing must not run anything.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(svg)
}
