package definitions

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
)

// Hash returns the content hash of a definition: the lowercase hex SHA-256
// of its canonical JSON encoding. The encoding is of the parsed model, so
// comments, key order, quoting and other formatting of the YAML file do not
// change it; any change of meaning does. Object keys are sorted (also inside
// embedded JSON Schemas) and numbers are written in their shortest form.
func Hash(p *Procedure) string {
	sum := sha256.Sum256(CanonicalJSON(p))
	return hex.EncodeToString(sum[:])
}

// CanonicalJSON is the encoding Hash hashes: JSON with sorted object keys,
// no insignificant whitespace, and numbers in shortest form.
func CanonicalJSON(p *Procedure) []byte {
	if p == nil {
		return []byte("null")
	}
	raw, err := json.Marshal(p)
	if err != nil {
		// Only a json.RawMessage holding invalid JSON gets here. Hash the
		// Go representation's failure text so that the result is still
		// deterministic and differs from every valid definition.
		return []byte("invalid: " + err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	v = canonicalNumbers(v)
	out, err := json.Marshal(v) // maps are encoded with sorted keys
	if err != nil {
		return raw
	}
	return out
}

func canonicalNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			x[k] = canonicalNumbers(c)
		}
	case []any:
		for i, c := range x {
			x[i] = canonicalNumbers(c)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil && !math.IsInf(f, 0) {
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return json.Number(strconv.FormatInt(int64(f), 10))
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return v
}
