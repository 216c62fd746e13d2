package web

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/amtsweg/amtsweg/api"
)

// statusPage is the citizen's form and, after a successful lookup, the
// application's public status.
type statusPage struct {
	Reference string
	// Code is only echoed back into the form after a failed attempt of
	// this same request; it never appears in a URL.
	Code   string
	Errors map[string]string
	// Problem is the answer to a failed lookup (not found, too many).
	Problem string
	Result  *api.StatusResponse
	// Current is the 1-based index of the current milestone, 0 before the
	// first.
	Current int
	Fields  []*formField
}

// HasErrors reports whether a field has an error.
func (p *statusPage) HasErrors() bool { return len(p.Errors) > 0 }

// fields builds the form's two fields with the page's values and errors.
func (p *statusPage) fields(lang string) {
	p.Fields = []*formField{
		textField(lang, "reference", "status.reference", "status.reference.hint", p.Reference, p.Errors["reference"], true),
		textField(lang, "code", "status.code", "status.code.hint", p.Code, p.Errors["code"], true),
	}
	for _, f := range p.Fields {
		f.Autocomplete = "off"
	}
}

// textField is a required or optional text field of a fixed form.
func textField(lang, name, labelKey, hintKey, value, errText string, required bool) *formField {
	f := &formField{Name: name, InputName: name, ID: name, Label: tr(lang, labelKey), Kind: kindText, InputType: "text",
		Required: required, Value: value, Error: errText, lang: lang}
	if hintKey != "" {
		f.Hint = tr(lang, hintKey)
	}
	return f
}

func (h *handler) statusForm(w http.ResponseWriter, r *http.Request) {
	v := h.newView(w, r, "status", "status.title")
	p := &statusPage{}
	p.fields(v.Lang)
	v.Data = p
	h.render(w, http.StatusOK, "status", v)
}

func (h *handler) statusLookup(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	v := h.newView(w, r, "status", "status.title")
	p := &statusPage{
		Reference: strings.TrimSpace(r.PostFormValue("reference")),
		Code:      strings.TrimSpace(r.PostFormValue("code")),
		Errors:    map[string]string{},
	}
	v.Data = p
	again := func(code int) {
		p.fields(v.Lang)
		h.render(w, code, "status", v)
	}
	if p.Reference == "" {
		p.Errors["reference"] = v.T("field.required")
	}
	if p.Code == "" {
		p.Errors["code"] = v.T("field.required")
	}
	if len(p.Errors) > 0 {
		again(http.StatusUnprocessableEntity)
		return
	}
	res, err := h.cfg.Status.LookupStatus(r, p.Reference, p.Code, v.Lang)
	var many *api.TooManyAttemptsError
	switch {
	case errors.As(err, &many):
		p.Problem, p.Code = v.T("status.toomany", formatWait(v.Lang, many.RetryAfter)), ""
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(many.RetryAfter.Seconds()))))
		again(http.StatusTooManyRequests)
		return
	case errors.Is(err, api.ErrNoApplication):
		// The same page for an unknown reference and a wrong code.
		p.Problem, p.Code = v.T("status.notfound"), ""
		again(http.StatusNotFound)
		return
	case err != nil:
		h.unavailable(w, r, nil, err)
		return
	}
	p.Result = &res
	for i, m := range res.Milestones {
		if m.Current {
			p.Current = i + 1
		}
	}
	// Switching the language re-sends the form, so the code stays out of
	// the URL.
	v.LangPost = url.Values{"reference": {p.Reference}, "code": {p.Code}}
	h.render(w, http.StatusOK, "status", v)
}
