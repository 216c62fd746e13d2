package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Field kinds a task form is rendered with.
const (
	kindText     = "text"     // <input type=text|date|email|...>
	kindTextarea = "textarea" // strings longer than 200 characters
	kindNumber   = "number"   // number and integer
	kindBoolean  = "boolean"  // required: a yes/no radio group; optional: a check box
	kindEnum     = "enum"     // a select of the enum's values
	kindJSON     = "json"     // objects and arrays: a JSON text area
)

// formField is one field of a task form, rendered from a JSON Schema
// property.
type formField struct {
	// Name is the property name; InputName the form control's name.
	Name      string
	InputName string
	ID        string
	Label     string
	Hint      string
	Kind      string
	// InputType is the HTML input type of kindText and kindNumber.
	InputType string
	// Step is the number input's step ("1" for integers, "any" else).
	Step     string
	Integer  bool
	Required bool
	// Checkbox marks an optional boolean.
	Checkbox bool
	Options  []formOption
	// Value is the field's current value as the form shows it.
	Value string
	Error string
	// Autocomplete is the control's autocomplete attribute, if any.
	Autocomplete string
	// enum keeps the enum's JSON values to map a choice back.
	enum []json.RawMessage
	lang string
}

// T translates a message key in the form's language.
func (f *formField) T(key string, args ...any) string { return tr(f.lang, key, args...) }

type formOption struct {
	Value, Label string
}

// HintID and ErrorID are the ids aria-describedby refers to.
func (f *formField) HintID() string  { return f.ID + "-hint" }
func (f *formField) ErrorID() string { return f.ID + "-error" }

// DescribedBy lists the ids of the field's hint and error.
func (f *formField) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.HintID())
	}
	if f.Error != "" {
		ids = append(ids, f.ErrorID())
	}
	return strings.Join(ids, " ")
}

// taskForm is a task's form with its fields and form-level errors.
type taskForm struct {
	Fields []*formField
	// Errors are errors not tied to one field.
	Errors []string
	// Unsupported is set when the schema could not be read; the form then
	// offers one JSON field for the whole document.
	Unsupported string
}

// HasErrors reports whether any field or the form has an error.
func (f *taskForm) HasErrors() bool {
	if len(f.Errors) > 0 {
		return true
	}
	for _, fl := range f.Fields {
		if fl.Error != "" {
			return true
		}
	}
	return false
}

// schemaProp is what the form reads of a property's schema.
type schemaProp struct {
	Type        json.RawMessage   `json:"type"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Format      string            `json:"format"`
	Enum        []json.RawMessage `json:"enum"`
	MaxLength   *int              `json:"maxLength"`
	Minimum     *float64          `json:"minimum"`
	Maximum     *float64          `json:"maximum"`
	Default     json.RawMessage   `json:"default"`
}

func (p schemaProp) typ() string {
	var one string
	if json.Unmarshal(p.Type, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(p.Type, &many) == nil {
		for _, t := range many {
			if t != "null" {
				return t
			}
		}
	}
	if len(p.Enum) > 0 {
		return "enum"
	}
	return ""
}

// buildForm renders schema (a JSON Schema of an object) as form fields in
// the order the schema lists its properties, filled with data (the stored
// or submitted document).
//
// order is the property order of the definition's source; without it,
// required fields come first (in the order "required" lists them), then the
// others by name.
func buildForm(lang string, schema, data json.RawMessage, order *schemaOrder) *taskForm {
	f := &taskForm{}
	var root struct {
		Type       json.RawMessage `json:"type"`
		Required   []string        `json:"required"`
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(schema, &root); err != nil || len(root.Properties) == 0 {
		f.Unsupported = "the form schema has no properties"
		f.Fields = []*formField{{InputName: "field.", ID: "f-document", Label: "JSON", Kind: kindJSON, Value: prettyJSON(data), lang: lang}}
		return f
	}
	names, props, err := orderedProperties(root.Properties)
	if err != nil {
		f.Unsupported = err.Error()
		f.Fields = []*formField{{InputName: "field.", ID: "f-document", Label: "JSON", Kind: kindJSON, Value: prettyJSON(data), lang: lang}}
		return f
	}
	sortKeys(names, order, root.Required)
	values := map[string]json.RawMessage{}
	if len(data) > 0 {
		_ = json.Unmarshal(data, &values)
	}
	for i, name := range names {
		p := props[name]
		fl := &formField{Name: name, InputName: "field." + name, ID: fmt.Sprintf("f%d-%s", i, idSafe(name)), Label: p.Title,
			Hint: p.Description, Required: slices.Contains(root.Required, name), lang: lang}
		if fl.Label == "" {
			fl.Label = name
		}
		val, has := values[name]
		if !has && len(p.Default) > 0 {
			val, has = p.Default, true
		}
		switch t := p.typ(); {
		case len(p.Enum) > 0:
			fl.Kind, fl.enum = kindEnum, p.Enum
			for _, e := range p.Enum {
				fl.Options = append(fl.Options, formOption{Value: string(e), Label: enumLabel(lang, e)})
			}
			if has {
				fl.Value = string(compactJSON(val))
			}
		case t == "boolean":
			fl.Kind, fl.Checkbox = kindBoolean, !fl.Required
			if has {
				fl.Value = string(compactJSON(val))
			}
		case t == "number" || t == "integer":
			fl.Kind, fl.InputType, fl.Integer = kindNumber, "text", t == "integer"
			fl.Step = "any"
			if fl.Integer {
				fl.Step = "1"
			}
			if has {
				fl.Value = string(compactJSON(val))
			}
			fl.Hint = joinHint(fl.Hint, rangeHint(lang, p.Minimum, p.Maximum))
		case t == "string" || t == "":
			fl.Kind, fl.InputType = kindText, "text"
			switch p.Format {
			case "date":
				fl.InputType = "date"
			case "email":
				fl.InputType = "email"
			case "uri":
				fl.InputType = "url"
			}
			if p.MaxLength != nil && *p.MaxLength > 200 {
				fl.Kind = kindTextarea
			}
			if has {
				var s string
				if json.Unmarshal(val, &s) == nil {
					fl.Value = s
				} else {
					fl.Value = string(val)
				}
			}
		default: // object, array
			fl.Kind = kindJSON
			if has {
				fl.Value = prettyJSON(val)
			}
		}
		f.Fields = append(f.Fields, fl)
	}
	return f
}

func joinHint(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

func rangeHint(lang string, lo, hi *float64) string {
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	switch {
	case lo != nil && hi != nil:
		return tr(lang, "form.range", num(*lo), num(*hi))
	case lo != nil:
		return tr(lang, "form.min", num(*lo))
	case hi != nil:
		return tr(lang, "form.max", num(*hi))
	}
	return ""
}

func enumLabel(lang string, v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		if b {
			return tr(lang, "yes")
		}
		return tr(lang, "no")
	}
	return string(v)
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

func idSafe(s string) string { return idUnsafe.ReplaceAllString(s, "_") }

// sortKeys puts property names into the definition's order, or else
// required ones first, then by name.
func sortKeys(names []string, order *schemaOrder, required []string) {
	sort.SliceStable(names, func(i, j int) bool {
		a, b := names[i], names[j]
		if order != nil {
			if ia, ib := order.index(a), order.index(b); ia != ib {
				return ia < ib
			}
			return a < b
		}
		ra, rb := slices.Index(required, a), slices.Index(required, b)
		switch {
		case ra >= 0 && rb >= 0:
			return ra < rb
		case ra >= 0 || rb >= 0:
			return ra >= 0
		}
		return a < b
	})
}

// orderedProperties decodes a "properties" object keeping the order of its
// keys, which a Go map would lose.
func orderedProperties(raw json.RawMessage) ([]string, map[string]schemaProp, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("properties is not an object")
	}
	var names []string
	props := map[string]schemaProp{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("properties: %w", err)
		}
		name, _ := t.(string)
		var p schemaProp
		if err := dec.Decode(&p); err != nil {
			return nil, nil, fmt.Errorf("property %s: %w", name, err)
		}
		if _, dup := props[name]; !dup {
			names = append(names, name)
		}
		props[name] = p
	}
	return names, props, nil
}

// formData turns the submitted values into the JSON document the schema
// describes. Values that do not parse as their type are sent as strings,
// so the procedure's own validation reports them at their field; empty
// optional fields are left out.
func (f *taskForm) formData(values url.Values) json.RawMessage {
	if f.Unsupported != "" {
		raw := strings.TrimSpace(values.Get("field."))
		if raw == "" {
			raw = "{}"
		}
		if json.Valid([]byte(raw)) {
			return json.RawMessage(raw)
		}
		b, _ := json.Marshal(raw)
		return b
	}
	doc := map[string]json.RawMessage{}
	for _, fl := range f.Fields {
		in := values.Get(fl.InputName)
		_, present := values[fl.InputName]
		fl.Value = in
		switch fl.Kind {
		case kindBoolean:
			if fl.Checkbox {
				fl.Value = strconv.FormatBool(present && in == "true")
				doc[fl.Name] = json.RawMessage(fl.Value)
			} else if in == "true" || in == "false" {
				doc[fl.Name] = json.RawMessage(in)
			}
		case kindEnum:
			for _, e := range fl.enum {
				if string(e) == in {
					doc[fl.Name] = e
				}
			}
		case kindNumber:
			s := strings.TrimSpace(in)
			if s == "" {
				continue
			}
			// Accept the German decimal comma.
			norm := strings.Replace(s, ",", ".", 1)
			if _, err := strconv.ParseFloat(norm, 64); err == nil && json.Valid([]byte(norm)) {
				doc[fl.Name] = json.RawMessage(norm)
			} else {
				doc[fl.Name], _ = json.Marshal(s)
			}
		case kindJSON:
			s := strings.TrimSpace(in)
			if s == "" {
				continue
			}
			if json.Valid([]byte(s)) {
				doc[fl.Name] = json.RawMessage(s)
			} else {
				doc[fl.Name], _ = json.Marshal(s)
			}
		default:
			if in == "" {
				continue
			}
			doc[fl.Name], _ = json.Marshal(in)
		}
	}
	b, _ := json.Marshal(doc)
	return b
}

// fieldError is one entry of procclient.RejectedError.Fields
// (jsonvalidate.FieldError).
type fieldError struct {
	Field     string `json:"field"`
	Message   string `json:"message"`
	MessageDE string `json:"messageDe"`
}

// in is the message in the page's language (English where the validator
// has no German text).
func (e fieldError) in(lang string) string {
	if lang == "de" && e.MessageDE != "" {
		return e.MessageDE
	}
	return e.Message
}

var (
	missingProps = regexp.MustCompile(`^missing propert(?:y|ies) (.+)$`)
	quoted       = regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`)
)

// applyErrors puts the procedure's validation errors next to their fields:
// an error at "/name" (or below it) belongs to field name; a missing
// required property, which the validator reports at the object, belongs to
// the missing field; anything else is a form-level error.
func (f *taskForm) applyErrors(lang string, raw json.RawMessage) {
	var errs []fieldError
	if err := json.Unmarshal(raw, &errs); err != nil {
		f.Errors = append(f.Errors, tr(lang, "task.rejected.InvalidFormData"))
		return
	}
	byName := map[string]*formField{}
	for _, fl := range f.Fields {
		byName[fl.Name] = fl
	}
	add := func(fl *formField, msg string) {
		if fl.Error == "" {
			fl.Error = msg
		} else if !strings.Contains(fl.Error, msg) {
			fl.Error += " " + msg
		}
	}
	for _, e := range errs {
		if e.Field == "" {
			if m := missingProps.FindStringSubmatch(e.Message); m != nil {
				matched := false
				for _, q := range quoted.FindAllStringSubmatch(m[1], -1) {
					if fl := byName[q[1]]; fl != nil {
						add(fl, tr(lang, "field.required"))
						matched = true
					}
				}
				if matched {
					continue
				}
			}
			f.Errors = append(f.Errors, e.in(lang))
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(e.Field, "/"), "/")
		name = strings.NewReplacer("~1", "/", "~0", "~").Replace(name)
		if fl := byName[name]; fl != nil {
			add(fl, tr(lang, "field.invalid", e.in(lang)))
		} else {
			f.Errors = append(f.Errors, e.Field+": "+e.in(lang))
		}
	}
}

// dataItem is one line of a read-only view of JSON data.
type dataItem struct {
	Label    string
	Value    string
	Children []dataItem
}

// dataView renders a JSON object for reading: labels from the form's
// titles where known, booleans as yes/no, nested objects and lists
// indented.
func dataView(lang string, data json.RawMessage, labels map[string]string, order *schemaOrder) []dataItem {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if len(data) == 0 || dec.Decode(&v) != nil {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []dataItem{{Label: "–", Value: valueText(lang, v)}}
	}
	return objectItems(lang, obj, labels, order)
}

func objectItems(lang string, obj map[string]any, labels map[string]string, order *schemaOrder) []dataItem {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sortKeys(keys, order, nil)
	var out []dataItem
	for _, k := range keys {
		label := k
		if l := labels[k]; l != "" {
			label = l
		} else if order != nil && order.Titles[k] != "" {
			label = order.Titles[k]
		}
		var sub *schemaOrder
		if order != nil {
			sub = order.Sub[k]
		}
		out = append(out, itemOf(lang, label, obj[k], sub))
	}
	return out
}

func itemOf(lang, label string, v any, order *schemaOrder) dataItem {
	switch x := v.(type) {
	case map[string]any:
		return dataItem{Label: label, Children: objectItems(lang, x, nil, order)}
	case []any:
		it := dataItem{Label: label}
		for i, e := range x {
			it.Children = append(it.Children, itemOf(lang, strconv.Itoa(i+1), e, nil))
		}
		if len(x) == 0 {
			it.Value = "–"
		}
		return it
	}
	return dataItem{Label: label, Value: valueText(lang, v)}
}

func valueText(lang string, v any) string {
	switch x := v.(type) {
	case nil:
		return "–"
	case bool:
		if x {
			return tr(lang, "yes")
		}
		return tr(lang, "no")
	case string:
		if x == "" {
			return "–"
		}
		return x
	case json.Number:
		if lang == "de" {
			return strings.Replace(x.String(), ".", ",", 1)
		}
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// formLabels maps a form schema's property names to their titles.
func formLabels(schema json.RawMessage) map[string]string {
	var root struct {
		Properties map[string]schemaProp `json:"properties"`
	}
	_ = json.Unmarshal(schema, &root)
	out := map[string]string{}
	for k, p := range root.Properties {
		if p.Title != "" {
			out[k] = p.Title
		} else if p.Description != "" {
			out[k] = p.Description
		}
	}
	return out
}

func compactJSON(b json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func prettyJSON(b json.RawMessage) string {
	if len(b) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return string(b)
	}
	return buf.String()
}
