package web

import (
	"context"
	"encoding/json"
	"reflect"

	lru "github.com/hashicorp/golang-lru/v2"
	"gopkg.in/yaml.v3"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/store"
)

// PostgreSQL's jsonb, in which forms, payloads and the parsed model are
// stored, does not keep the order of object keys. The order designers wrote
// (the order a form should be filled in) survives only in the definition's
// YAML source, so the pages read it from there.

// schemaOrder is the property order and titles of an object schema, with
// those of its object properties.
type schemaOrder struct {
	Keys   []string
	Titles map[string]string
	Sub    map[string]*schemaOrder
}

// definitionOrder is what the pages need of one deployed definition.
type definitionOrder struct {
	// forms are the forms' schemas (decoded, for matching a task's form)
	// with their property order.
	forms []formOrder
	app   *schemaOrder
}

type formOrder struct {
	schema any
	order  *schemaOrder
}

// orderCacheSize bounds the definitions whose property order is kept: one
// entry per definition version whose pages are being shown. 256 versions
// in service at once is far beyond what one authority runs; past it the
// least recently shown is read again from the store.
const orderCacheSize = 256

var orderCache = func() *lru.Cache[string, *definitionOrder] {
	c, err := lru.New[string, *definitionOrder](orderCacheSize)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return c
}()

// orderOfDefinition reads (once per definition) the property order of the
// definition's forms and application schema from its source.
func orderOfDefinition(ctx context.Context, st *store.Store, hash string) *definitionOrder {
	if hash == "" {
		return nil
	}
	if o, ok := orderCache.Get(hash); ok {
		return o
	}
	rec, err := st.DefinitionByHash(ctx, hash)
	if err != nil {
		return nil
	}
	var p definitions.Procedure
	if err := json.Unmarshal(rec.Model, &p); err != nil {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(rec.Source), &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	o := &definitionOrder{app: objectOrder(mapValue(root, "applicationSchema"))}
	if forms := mapValue(root, "forms"); forms != nil && forms.Kind == yaml.SequenceNode {
		for _, f := range forms.Content {
			id := mapValue(f, "id")
			if id == nil {
				continue
			}
			for _, pf := range p.Forms {
				if pf.ID == id.Value {
					var schema any
					if json.Unmarshal(pf.Schema, &schema) == nil {
						o.forms = append(o.forms, formOrder{schema: schema, order: objectOrder(mapValue(f, "schema"))})
					}
				}
			}
		}
	}
	orderCache.Add(hash, o)
	return o
}

// form returns the order of the definition form whose schema is schema.
func (o *definitionOrder) form(schema json.RawMessage) *schemaOrder {
	if o == nil {
		return nil
	}
	var want any
	if json.Unmarshal(schema, &want) != nil {
		return nil
	}
	for _, f := range o.forms {
		if reflect.DeepEqual(f.schema, want) {
			return f.order
		}
	}
	return nil
}

func (o *definitionOrder) application() *schemaOrder {
	if o == nil {
		return nil
	}
	return o.app
}

// mapValue is the value of key in a YAML mapping node.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// objectOrder reads the properties of an object schema in source order.
func objectOrder(schema *yaml.Node) *schemaOrder {
	props := mapValue(schema, "properties")
	if props == nil || props.Kind != yaml.MappingNode {
		return nil
	}
	o := &schemaOrder{Titles: map[string]string{}, Sub: map[string]*schemaOrder{}}
	for i := 0; i+1 < len(props.Content); i += 2 {
		k, v := props.Content[i].Value, props.Content[i+1]
		o.Keys = append(o.Keys, k)
		if t := mapValue(v, "title"); t != nil && t.Kind == yaml.ScalarNode {
			o.Titles[k] = t.Value
		}
		if sub := objectOrder(v); sub != nil {
			o.Sub[k] = sub
		}
	}
	return o
}

// index is the position of key, or len(Keys) when it is not listed.
func (o *schemaOrder) index(key string) int {
	if o != nil {
		for i, k := range o.Keys {
			if k == key {
				return i
			}
		}
		return len(o.Keys)
	}
	return 0
}
