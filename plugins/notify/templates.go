package notify

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"
)

//go:embed templates
var embedded embed.FS

// Languages are the languages every template must exist in.
var Languages = []string{"de", "en"}

// Templates are the message templates by name and language.
type Templates struct {
	byName map[string]map[string]*template.Template
}

// LoadTemplates parses <lang>/<name>.tmpl for every language from fsys. A
// template defines "subject" and "body"; every name must exist in every
// language.
func LoadTemplates(fsys fs.FS) (*Templates, error) {
	t := &Templates{byName: map[string]map[string]*template.Template{}}
	for _, lang := range Languages {
		files, err := fs.Glob(fsys, lang+"/*.tmpl")
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			name := strings.TrimSuffix(path.Base(f), ".tmpl")
			b, err := fs.ReadFile(fsys, f)
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", f, err)
			}
			tpl, err := template.New(name).Option("missingkey=error").Parse(string(b))
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", f, err)
			}
			for _, part := range []string{"subject", "body"} {
				if tpl.Lookup(part) == nil {
					return nil, fmt.Errorf("template %s defines no %q; add {{define %q}}...{{end}}", f, part, part)
				}
			}
			if t.byName[name] == nil {
				t.byName[name] = map[string]*template.Template{}
			}
			t.byName[name][lang] = tpl
		}
	}
	if len(t.byName) == 0 {
		return nil, fmt.Errorf("no templates found (expected <lang>/<name>.tmpl for languages %s)", strings.Join(Languages, ", "))
	}
	for name, langs := range t.byName {
		for _, lang := range Languages {
			if langs[lang] == nil {
				return nil, fmt.Errorf("template %s has no %s version; add %s/%s.tmpl", name, lang, lang, name)
			}
		}
	}
	return t, nil
}

// EmbeddedTemplates returns the templates shipped with the plugin.
func EmbeddedTemplates() (*Templates, error) {
	sub, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, err
	}
	return LoadTemplates(sub)
}

// Names lists the template names, sorted.
func (t *Templates) Names() []string {
	out := make([]string, 0, len(t.byName))
	for n := range t.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TemplateData is what a template sees.
type TemplateData struct {
	Reference string
	Tenant    string
	Data      map[string]any
}

// Render renders the subject and body of template name in lang.
func (t *Templates) Render(name, lang string, data TemplateData) (subject, body string, err error) {
	langs, ok := t.byName[name]
	if !ok {
		return "", "", fmt.Errorf("no template %q; available: %s", name, strings.Join(t.Names(), ", "))
	}
	tpl, ok := langs[lang]
	if !ok {
		return "", "", fmt.Errorf("template %s has no language %q", name, lang)
	}
	if data.Data == nil {
		data.Data = map[string]any{}
	}
	var sb, bb bytes.Buffer
	if err := tpl.ExecuteTemplate(&sb, "subject", data); err != nil {
		return "", "", fmt.Errorf("render subject of %s/%s: %w", lang, name, err)
	}
	if err := tpl.ExecuteTemplate(&bb, "body", data); err != nil {
		return "", "", fmt.Errorf("render body of %s/%s: %w", lang, name, err)
	}
	subject = strings.Join(strings.Fields(sb.String()), " ")
	return subject, strings.TrimLeft(bb.String(), "\n"), nil
}
