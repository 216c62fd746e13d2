package definitions

import (
	"path/filepath"
	"testing"
)

// seedCorpus adds the bundled procedures and the test definitions.
func seedCorpus(f *testing.F) {
	f.Helper()
	files, _ := filepath.Glob("procedures/*.yaml")
	more, _ := filepath.Glob("testdata/*.yaml")
	files = append(files, more...)
	if len(files) < 3 {
		f.Fatalf("seed corpus: found only %v", files)
	}
	for _, name := range files {
		f.Add(readTestdata(f, "../"+name))
	}
	f.Add([]byte(""))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("steps: [{id: x, type: parallel, branches: [{id: b, start: x, steps: [{id: x, type: foreach}]}]}]"))
}

// FuzzParse: no input may panic the parser; what parses must hash and
// validate without panicking either.
func FuzzParse(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse("fuzz.yaml", src)
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("Parse error %T is not an ErrorList", err)
			}
			return
		}
		if h := Hash(p); len(h) != 64 {
			t.Fatalf("Hash = %q", h)
		}
		_ = Validate(p, ValidateOptions{})
	})
}

// FuzzLoad: no input may panic Parse + Validate with an activity catalog,
// and every reported error must name the file.
func FuzzLoad(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := Load("fuzz.yaml", src, testOpts)
		if err == nil {
			return
		}
		list, ok := err.(ErrorList)
		if !ok {
			t.Fatalf("Load error %T is not an ErrorList", err)
		}
		for _, e := range list {
			if e.File != "fuzz.yaml" || e.Msg == "" {
				t.Fatalf("error without file or message: %#v", e)
			}
		}
	})
}
