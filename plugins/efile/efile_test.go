package efile_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/plugins/sdk/sdktest"
)

func start(t *testing.T) (*sdktest.Conn, string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(efile.EnvDir, dir)
	p, err := efile.Plugin()
	if err != nil {
		t.Fatal(err)
	}
	return sdktest.Start(t, p), dir
}

func final(t *testing.T, err error, contains string) {
	t.Helper()
	var pe *plugins.Error
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, contains) {
		t.Fatalf("got %v, want a final error mentioning %q", err, contains)
	}
}

func TestStoreListGet(t *testing.T) {
	conn, _ := start(t)
	ctx := context.Background()
	pdf := []byte("%PDF-1.7 Lageplan")

	var st efile.StoreOutput
	err := conn.Call(ctx, "store", efile.StoreInput{Reference: "BA-2025-000123", DocumentID: "lageplan", Kind: "document",
		Name: "Lageplan.pdf", MediaType: "application/pdf", Content: base64.StdEncoding.EncodeToString(pdf)}, &st)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pdf)
	if !st.Created || st.Document.SHA256 != hex.EncodeToString(sum[:]) || st.Document.Size != int64(len(pdf)) {
		t.Fatalf("store = %+v", st)
	}
	// A generated letter, id derived from the idempotency key; a retry
	// with the same key stores nothing new.
	letter := plugins.Call{Activity: "store", Reference: "BA-2025-000123", IdempotencyKey: "wf-1/7", Attempt: 1}
	in := efile.StoreInput{Reference: "BA-2025-000123", Kind: "letter", Name: "Eingangsbestätigung.txt", MediaType: "text/plain; charset=utf-8", Text: "Sehr geehrte Frau Mustermann, ..."}
	var l1, l2 efile.StoreOutput
	if err := conn.CallWith(ctx, letter, in, &l1); err != nil {
		t.Fatal(err)
	}
	letter.Attempt = 2
	if err := conn.CallWith(ctx, letter, in, &l2); err != nil {
		t.Fatal(err)
	}
	if !l1.Created || l2.Created || l1.Document.DocumentID != l2.Document.DocumentID || !strings.HasPrefix(l1.Document.DocumentID, "doc-") {
		t.Fatalf("retried store: first %+v, second %+v", l1, l2)
	}

	var list efile.ListOutput
	if err := conn.Call(ctx, "list", efile.ListInput{Reference: "BA-2025-000123"}, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Documents) != 2 || list.Documents[0].DocumentID != "lageplan" || list.Documents[1].Kind != "letter" {
		t.Fatalf("list = %+v", list)
	}
	var empty efile.ListOutput
	if err := conn.Call(ctx, "list", efile.ListInput{Reference: "BA-2025-999999"}, &empty); err != nil || len(empty.Documents) != 0 {
		t.Fatalf("empty e-file: %+v, %v", empty, err)
	}

	var got efile.GetOutput
	if err := conn.Call(ctx, "get", efile.GetInput{Reference: "BA-2025-000123", DocumentID: "lageplan"}, &got); err != nil {
		t.Fatal(err)
	}
	if b, _ := base64.StdEncoding.DecodeString(got.Content); string(b) != string(pdf) || got.Document.Name != "Lageplan.pdf" {
		t.Fatalf("get = %+v", got)
	}
}

func TestImmutabilityAndIntegrity(t *testing.T) {
	conn, dir := start(t)
	ctx := context.Background()
	in := efile.StoreInput{Reference: "BA-1", DocumentID: "antrag", Kind: "document", Name: "Antrag.txt", MediaType: "text/plain", Text: "Version 1"}
	if err := conn.Call(ctx, "store", in, nil); err != nil {
		t.Fatal(err)
	}
	in.Text = "Version 2"
	final(t, conn.Call(ctx, "store", in, nil), "immutable")

	// Change the stored file behind the store's back.
	if err := os.WriteFile(filepath.Join(dir, "BA-1", "antrag", "content"), []byte("Version X"), 0o640); err != nil {
		t.Fatal(err)
	}
	final(t, conn.Call(ctx, "get", efile.GetInput{Reference: "BA-1", DocumentID: "antrag"}, nil), "integrity")
	final(t, conn.Call(ctx, "get", efile.GetInput{Reference: "BA-1", DocumentID: "fehlt"}, nil), "not found")
}

func TestRejectsUnsafeIDsAndBadContent(t *testing.T) {
	conn, _ := start(t)
	ctx := context.Background()
	for _, ref := range []string{"../etc", "a/b", ".hidden", ""} {
		err := conn.Call(ctx, "store", efile.StoreInput{Reference: ref, DocumentID: "x", Kind: "document", Name: "n", MediaType: "text/plain", Text: "t"}, nil)
		final(t, err, "reference")
	}
	final(t, conn.Call(ctx, "store", efile.StoreInput{Reference: "BA-1", DocumentID: "x", Kind: "document", Name: "n", MediaType: "text/plain"}, nil), "either")
	final(t, conn.Call(ctx, "store", efile.StoreInput{Reference: "BA-1", DocumentID: "x", Kind: "document", Name: "n", MediaType: "text/plain", Content: "!!"}, nil), "base64")
	final(t, conn.Call(ctx, "store", map[string]any{"reference": "BA-1", "kind": "akte", "name": "n", "mediaType": "text/plain", "text": "t"}, nil), "/kind")
}
