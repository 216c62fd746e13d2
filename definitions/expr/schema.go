package expr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/cel-go/common/types"
)

// maxSchemaDepth bounds the nesting the type builder follows; deeper parts
// of a schema are typed dyn.
const maxSchemaDepth = 32

// schemaBuilder derives CEL types from one JSON Schema document.
type schemaBuilder struct {
	provider *schemaProvider
	root     any
	// active holds the $refs being expanded and the path at which each
	// expansion started: a recursive reference is typed as the object
	// type registered there (or dyn if the target is not an object).
	active map[string]string
}

// SchemaType derives the static type of JSON values that satisfy schema
// and registers the object types it needs in the environment. name is the
// variable's name and prefixes the object type names (e.g.
// "object:application.address").
//
// The mapping follows the JSON values Eval sees at run time:
//   - "string" is string (formats such as date stay strings), "boolean" is
//     bool, "null" is null_type;
//   - "integer" and "number" are double, because JSON numbers decode to
//     float64;
//   - "array" is list(T) of the "items" schema (list(dyn) without one);
//   - "object" with "properties" is an object type: selecting a field the
//     schema does not list is a type error; without "properties" and with
//     "additionalProperties": false it is an object type with no fields;
//     otherwise it is map(string, T) of the "additionalProperties" schema
//     (map(string, dyn) when absent);
//   - a type list with "null" ( ["string", "null"] ) is the non-null type;
//   - "allOf" merges the properties of its object members; "anyOf" and
//     "oneOf" are the common type of their members, or dyn;
//   - local "$ref"s ("#/$defs/x") are followed; recursive and remote
//     references are dyn; a schema that says nothing (true, {}) is dyn.
func (e *Env) SchemaType(name string, schema json.RawMessage) (Type, error) {
	if len(bytes.TrimSpace(schema)) == 0 {
		return DynType, nil
	}
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return DynType, fmt.Errorf("schema of %s is not valid JSON: %w", name, err)
	}
	b := &schemaBuilder{provider: e.provider, root: root, active: map[string]string{}}
	e.cached = nil
	return Type{b.typeOf(root, name, 0)}, nil
}

func (b *schemaBuilder) typeOf(s any, path string, depth int) *types.Type {
	if depth > maxSchemaDepth {
		return types.DynType
	}
	obj, ok := s.(map[string]any)
	if !ok {
		// true, false or garbage: nothing known.
		return types.DynType
	}
	if ref, ok := obj["$ref"].(string); ok {
		if at, recursive := b.active[ref]; recursive {
			if _, isObject := b.provider.objects[objectTypeName(at)]; isObject {
				return types.NewObjectType(objectTypeName(at))
			}
			return types.DynType
		}
		target, ok := b.resolve(ref)
		if !ok {
			return types.DynType
		}
		b.active[ref] = path
		t := b.typeOf(merged(target, obj), path, depth+1)
		delete(b.active, ref)
		return t
	}
	if members, ok := obj["allOf"].([]any); ok && len(members) > 0 {
		return b.typeOf(b.mergeAllOf(obj, members), path, depth+1)
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		if members, ok := obj[kw].([]any); ok && len(members) > 0 {
			return b.common(members, path, depth)
		}
	}

	switch tv := obj["type"].(type) {
	case string:
		return b.typeNamed(tv, obj, path, depth)
	case []any:
		var nonNull []string
		for _, x := range tv {
			if s, ok := x.(string); ok && s != "null" {
				nonNull = append(nonNull, s)
			}
		}
		if len(nonNull) == 1 {
			return b.typeNamed(nonNull[0], obj, path, depth)
		}
		if len(nonNull) == 2 && isNumberName(nonNull[0]) && isNumberName(nonNull[1]) {
			return types.DoubleType
		}
		return types.DynType
	}
	// No "type": infer it from the keywords used.
	switch {
	case obj["properties"] != nil || obj["additionalProperties"] != nil:
		return b.typeNamed("object", obj, path, depth)
	case obj["items"] != nil:
		return b.typeNamed("array", obj, path, depth)
	}
	if c, ok := obj["const"]; ok {
		return literalType(c)
	}
	if vals, ok := obj["enum"].([]any); ok && len(vals) > 0 {
		t := literalType(vals[0])
		for _, v := range vals[1:] {
			if !literalType(v).IsExactType(t) {
				return types.DynType
			}
		}
		return t
	}
	return types.DynType
}

func isNumberName(s string) bool { return s == "integer" || s == "number" }

func literalType(v any) *types.Type {
	switch v.(type) {
	case string:
		return types.StringType
	case bool:
		return types.BoolType
	case json.Number, float64:
		return types.DoubleType
	case nil:
		return types.NullType
	}
	return types.DynType
}

func (b *schemaBuilder) typeNamed(name string, obj map[string]any, path string, depth int) *types.Type {
	switch name {
	case "string":
		return types.StringType
	case "boolean":
		return types.BoolType
	case "integer", "number":
		return types.DoubleType
	case "null":
		return types.NullType
	case "array":
		items, ok := obj["items"]
		if !ok {
			return types.NewListType(types.DynType)
		}
		return types.NewListType(b.typeOf(items, path+"[]", depth+1))
	case "object":
		return b.objectOf(obj, path, depth)
	}
	return types.DynType
}

func (b *schemaBuilder) objectOf(obj map[string]any, path string, depth int) *types.Type {
	props, _ := obj["properties"].(map[string]any)
	additional, hasAdditional := obj["additionalProperties"]
	closed := hasAdditional && additional == false
	if len(props) == 0 && !closed {
		if hasAdditional {
			return types.NewMapType(types.StringType, b.typeOf(additional, path+"[*]", depth+1))
		}
		return types.NewMapType(types.StringType, types.DynType)
	}
	name := objectTypeName(path)
	// Register before descending so that the name is taken even if a
	// property's type reuses the path prefix.
	o := &objectType{name: name, fields: map[string]*types.Type{}}
	b.provider.objects[name] = o
	for field, fs := range props {
		o.fields[field] = b.typeOf(fs, path+"."+field, depth+1)
	}
	return types.NewObjectType(name)
}

// common is the type shared by all members of anyOf / oneOf, or dyn.
func (b *schemaBuilder) common(members []any, path string, depth int) *types.Type {
	var t *types.Type
	for i, m := range members {
		mt := b.typeOf(m, path+"|"+strconv.Itoa(i), depth+1)
		if t == nil {
			t = mt
			continue
		}
		if !mt.IsExactType(t) || mt.Kind() == types.StructKind {
			return types.DynType
		}
	}
	if t == nil {
		return types.DynType
	}
	return t
}

// mergeAllOf folds the members of allOf into one schema: properties are
// united, "type" is taken from the first member that has one, and
// additionalProperties false survives only if the outer schema says so
// (a member's false would otherwise hide its siblings' properties).
func (b *schemaBuilder) mergeAllOf(outer map[string]any, members []any) map[string]any {
	out := map[string]any{}
	props := map[string]any{}
	for k, v := range outer {
		if k != "allOf" {
			out[k] = v
		}
	}
	if p, ok := outer["properties"].(map[string]any); ok {
		for k, v := range p {
			props[k] = v
		}
	}
	for _, m := range members {
		mo, ok := m.(map[string]any)
		if !ok {
			continue
		}
		if ref, ok := mo["$ref"].(string); ok && b.active[ref] == "" {
			if target, ok := b.resolve(ref); ok {
				mo = merged(target, mo)
			}
		}
		if _, ok := out["type"]; !ok {
			if t, ok := mo["type"]; ok {
				out["type"] = t
			}
		}
		if p, ok := mo["properties"].(map[string]any); ok {
			for k, v := range p {
				if _, exists := props[k]; !exists {
					props[k] = v
				}
			}
		}
	}
	if len(props) > 0 {
		out["properties"] = props
	}
	return out
}

// merged returns target with the sibling keywords of a $ref laid over it
// (2020-12 allows keywords beside $ref).
func merged(target map[string]any, ref map[string]any) map[string]any {
	if len(ref) == 1 {
		return target
	}
	out := make(map[string]any, len(target)+len(ref))
	for k, v := range target {
		out[k] = v
	}
	for k, v := range ref {
		if k != "$ref" {
			out[k] = v
		}
	}
	return out
}

// resolve follows a local JSON Pointer reference ("#", "#/$defs/x").
func (b *schemaBuilder) resolve(ref string) (map[string]any, bool) {
	if !strings.HasPrefix(ref, "#") {
		return nil, false
	}
	frag, err := url.PathUnescape(ref[1:])
	if err != nil {
		return nil, false
	}
	cur := b.root
	if frag != "" {
		if !strings.HasPrefix(frag, "/") {
			return nil, false // named anchors are not followed
		}
		for _, tok := range strings.Split(frag[1:], "/") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			switch c := cur.(type) {
			case map[string]any:
				cur = c[tok]
			case []any:
				i, err := strconv.Atoi(tok)
				if err != nil || i < 0 || i >= len(c) {
					return nil, false
				}
				cur = c[i]
			default:
				return nil, false
			}
		}
	}
	m, ok := cur.(map[string]any)
	return m, ok
}
