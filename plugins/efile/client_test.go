package efile_test

import (
	"context"
	"errors"
	"testing"

	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// TestClientReadsThroughTheActivities: the client lists and opens
// documents through efile.list and efile.get of the plugin (here in
// process), and a document the e-file does not hold is ErrNotFound.
func TestClientReadsThroughTheActivities(t *testing.T) {
	t.Parallel()
	st, err := efile.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Put("BA-1", "doc-1", "letter", "Bescheid.txt", "text/plain", []byte("Genehmigt.")); err != nil {
		t.Fatal(err)
	}
	p, err := sdk.InProcess(efile.New(st))
	if err != nil {
		t.Fatal(err)
	}
	c := efile.Client{Plugins: p}
	ctx := context.Background()
	docs, err := c.List(ctx, "stadt-erfurt", "BA-1")
	if err != nil || len(docs) != 1 || docs[0].Name != "Bescheid.txt" {
		t.Fatalf("list: %+v, %v", docs, err)
	}
	m, content, err := c.Open(ctx, "stadt-erfurt", "BA-1", "doc-1")
	if err != nil || string(content) != "Genehmigt." || m.MediaType != "text/plain" {
		t.Fatalf("open: %+v %q %v", m, content, err)
	}
	if _, _, err := c.Open(ctx, "stadt-erfurt", "BA-1", "doc-2"); !errors.Is(err, efile.ErrNotFound) {
		t.Fatalf("a document the e-file does not hold: %v, want ErrNotFound", err)
	}
	if _, _, err := c.Open(ctx, "stadt-erfurt", "BA-2", "doc-1"); !errors.Is(err, efile.ErrNotFound) {
		t.Fatalf("another application's document: %v, want ErrNotFound", err)
	}
}
