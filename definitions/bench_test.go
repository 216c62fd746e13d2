package definitions

import "testing"

func BenchmarkLoad(b *testing.B) {
	src := readTestdata(b, "bauantrag.yaml")
	for b.Loop() {
		if _, err := Load("bauantrag.yaml", src, testOpts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	src := readTestdata(b, "bauantrag.yaml")
	for b.Loop() {
		if _, err := Parse("bauantrag.yaml", src); err != nil {
			b.Fatal(err)
		}
	}
}
