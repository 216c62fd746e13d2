package expr

import (
	"sort"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// Type is the static type of a variable or of an expression's result, as
// the CEL type checker sees it.
type Type struct{ t *types.Type }

// ResultType is the type Check infers for an expression.
type ResultType = Type

// The primitive types. JSON numbers are always DoubleType: encoding/json
// decodes every number into float64, and Eval works on such values.
var (
	DynType    = Type{types.DynType}
	StringType = Type{types.StringType}
	BoolType   = Type{types.BoolType}
	DoubleType = Type{types.DoubleType}
	IntType    = Type{types.IntType}
	NullType   = Type{types.NullType}
)

// ListOf is the type of a list whose elements have type elem.
func ListOf(elem Type) Type { return Type{types.NewListType(elem.cel())} }

// MapOf is the type of a map from strings to values of type value.
func MapOf(value Type) Type { return Type{types.NewMapType(types.StringType, value.cel())} }

func (t Type) cel() *types.Type {
	if t.t == nil {
		return types.DynType
	}
	return t.t
}

// String renders the type as CEL writes it, e.g. "bool", "list(string)",
// "map(string, dyn)"; object types from JSON Schemas are shown as
// "object:<path>" (e.g. "object:application.address").
func (t Type) String() string { return t.cel().String() }

// IsDyn reports whether the type is unknown until run time.
func (t Type) IsDyn() bool {
	k := t.cel().Kind()
	return k == types.DynKind || k == types.AnyKind
}

// IsBool reports whether the type is bool.
func (t Type) IsBool() bool { return t.cel().Kind() == types.BoolKind }

// IsList reports whether the type is a list.
func (t Type) IsList() bool { return t.cel().Kind() == types.ListKind }

// IsNumber reports whether the type is int, uint or double (all of which
// become a JSON number).
func (t Type) IsNumber() bool {
	switch t.cel().Kind() {
	case types.IntKind, types.UintKind, types.DoubleKind:
		return true
	}
	return false
}

// IsString reports whether the type is string.
func (t Type) IsString() bool { return t.cel().Kind() == types.StringKind }

// IsObject reports whether values of the type are JSON objects (a map or an
// object type derived from a JSON Schema).
func (t Type) IsObject() bool {
	k := t.cel().Kind()
	return k == types.MapKind || k == types.StructKind
}

// Elem returns the element type of a list type, and DynType otherwise.
func (t Type) Elem() Type {
	if t.IsList() {
		if ps := t.cel().Parameters(); len(ps) == 1 {
			return Type{ps[0]}
		}
	}
	return DynType
}

// AssignableTo reports whether a value of type t may be used where a value
// of type want is expected once both are JSON: dyn matches everything,
// numbers match numbers, objects (maps or schema objects) match objects,
// lists match when their elements do; otherwise the kinds must agree.
func (t Type) AssignableTo(want Type) bool {
	if t.IsDyn() || want.IsDyn() {
		return true
	}
	switch {
	case want.IsNumber():
		return t.IsNumber()
	case want.IsObject():
		return t.IsObject()
	case want.IsList():
		return t.IsList() && t.Elem().AssignableTo(want.Elem())
	}
	return t.cel().Kind() == want.cel().Kind()
}

// objectType is a JSON Schema object with declared properties; selecting
// any other field is a type error.
type objectType struct {
	name   string
	fields map[string]*types.Type
}

// schemaProvider is a types.Provider that adds the object types derived
// from JSON Schemas to the standard registry, so the checker resolves
// field selections on them (the approach of Kubernetes' SchemaDeclType).
type schemaProvider struct {
	*types.Registry
	objects map[string]*objectType
	// misses records field selections the checker could not resolve,
	// to suggest the intended field in error messages.
	misses []fieldMiss
}

type fieldMiss struct{ typeName, field string }

func newSchemaProvider() *schemaProvider {
	reg, err := types.NewRegistry()
	if err != nil {
		// NewRegistry without arguments only registers the built-in types.
		panic("expr: create CEL type registry: " + err.Error())
	}
	return &schemaProvider{Registry: reg, objects: map[string]*objectType{}}
}

// FindStructType implements types.Provider.
func (p *schemaProvider) FindStructType(name string) (*types.Type, bool) {
	if o, ok := p.objects[name]; ok {
		return types.NewTypeTypeWithParam(types.NewObjectType(o.name)), true
	}
	return p.Registry.FindStructType(name)
}

// FindStructFieldNames implements types.Provider.
func (p *schemaProvider) FindStructFieldNames(name string) ([]string, bool) {
	if o, ok := p.objects[name]; ok {
		return o.fieldNames(), true
	}
	return p.Registry.FindStructFieldNames(name)
}

// FindStructFieldType implements types.Provider.
func (p *schemaProvider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if o, ok := p.objects[name]; ok {
		ft, ok := o.fields[field]
		if !ok {
			p.misses = append(p.misses, fieldMiss{name, field})
			return nil, false
		}
		return &types.FieldType{
			Type:    ft,
			IsSet:   func(any) bool { return false },
			GetFrom: func(any) (any, error) { return nil, errCheckOnly },
		}, true
	}
	return p.Registry.FindStructFieldType(name, field)
}

// NewValue implements types.Provider. Schema object types exist only for
// type checking; Check rejects expressions that construct them.
func (p *schemaProvider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.objects[name]; ok {
		return types.NewErr("%s cannot be constructed in an expression", name)
	}
	return p.Registry.NewValue(name, fields)
}

func (o *objectType) fieldNames() []string {
	names := make([]string, 0, len(o.fields))
	for n := range o.fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type checkOnlyError struct{}

func (checkOnlyError) Error() string { return "schema object types exist only for type checking" }

var errCheckOnly = checkOnlyError{}

// objectPrefix starts the names of schema object types. The colon cannot
// occur in a CEL identifier, so an expression can never name such a type.
const objectPrefix = "object:"

func objectTypeName(path string) string { return objectPrefix + path }

// displayTypeName shortens object type names for messages.
func displayTypeName(name string) string { return strings.TrimPrefix(name, objectPrefix) }
