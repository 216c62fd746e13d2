package records_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/internal/records"
	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/store"
	"github.com/amtsweg/amtsweg/store/storetest"
)

func readZip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		c, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = c
	}
	return out
}

func TestEFileExportOfAClosedProcedure(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	dir := t.TempDir()
	const ref, running = "BA-2025-0701", "BA-2025-0702"
	evs := storetest.Lifecycle(ref)
	if _, err := st.ApplyEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyEvents(ctx, storetest.Lifecycle(running)[:10]); err != nil {
		t.Fatal(err)
	}
	files, err := efile.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	plan := []byte("%PDF-1.7 Lageplan")
	if _, _, err := files.Put(ref, "lageplan", efile.KindDocument, "../Lage plan?.pdf", "application/pdf", plan); err != nil {
		t.Fatal(err)
	}
	if _, _, err := files.Put(ref, "bescheid", efile.KindLetter, "Bescheid.txt", "text/plain", []byte("Genehmigt.")); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	m, err := records.ExportEFile(ctx, st, dir, "bauamt-erfurt", ref, "olga", &buf)
	if err != nil {
		t.Fatal(err)
	}
	z := readZip(t, buf.Bytes())
	var manifest records.EFileManifest
	if err := json.Unmarshal(z[ref+"/manifest.json"], &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if manifest.Format != records.EFileFormat || manifest.Outcome != "approved" || manifest.ExportedBy != "olga" ||
		!manifest.Audit.OK() || manifest.Audit.Entries != int64(len(evs)) || len(manifest.Documents) != 2 {
		t.Errorf("manifest %+v", manifest)
	}
	// Every file but the manifest is listed with its hash, and nothing else.
	if len(manifest.Files)+1 != len(z) {
		t.Errorf("manifest lists %d files, the archive has %d besides it", len(manifest.Files), len(z)-1)
	}
	for _, f := range manifest.Files {
		c, ok := z[ref+"/"+f.Path]
		sum := sha256.Sum256(c)
		if !ok || hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(c)) != f.Size {
			t.Errorf("file %s: in archive %v, hash or size differs", f.Path, ok)
		}
	}
	// Documents in the order stored, names made safe (no path elements).
	if d := manifest.Documents[0]; d.DocumentID != "lageplan" || d.Path != "dokumente/001_lageplan/_Lage plan_.pdf" ||
		!bytes.Equal(z[ref+"/"+d.Path], plan) {
		t.Errorf("first document %+v", d)
	}
	var protocol struct {
		Verification store.AuditReport  `json:"verification"`
		Entries      []store.AuditEntry `json:"entries"`
	}
	if err := json.Unmarshal(z[ref+"/akte/protokoll.json"], &protocol); err != nil {
		t.Fatal(err)
	}
	if len(protocol.Entries) != len(evs) || protocol.Entries[0].Position != 1 || protocol.Entries[0].PrevHash != "" ||
		protocol.Entries[1].PrevHash != protocol.Entries[0].Hash || protocol.Entries[len(evs)-1].Hash != manifest.Audit.Head {
		t.Errorf("audit chain in the archive: %d entries, head %s", len(protocol.Entries), manifest.Audit.Head)
	}
	var x struct {
		Akte struct {
			Kennzeichen string `xml:"AllgemeineMetadaten>Kennzeichen"`
			Dokumente   []struct {
				Dateiname string `xml:"Version>Format>Primaerdokument>Dateiname"`
			} `xml:"Vorgang>Dokument"`
		} `xml:"Schriftgutobjekt>Akte"`
	}
	if err := xml.Unmarshal(z[ref+"/xdomea-manifest.xml"], &x); err != nil {
		t.Fatal(err)
	}
	if x.Akte.Kennzeichen != ref || len(x.Akte.Dokumente) != 2 || x.Akte.Dokumente[1].Dateiname != "dokumente/002_bescheid/Bescheid.txt" {
		t.Errorf("xml manifest %+v", x)
	}
	if !strings.Contains(string(z[ref+"/akte/vorgang.json"]), "Erika Mustermann") || m.Reference != ref {
		t.Error("the case file metadata lacks the applicant")
	}

	if _, err := records.ExportEFile(ctx, st, dir, "bauamt-erfurt", running, "olga", io.Discard); !errors.Is(err, records.ErrNotClosed) {
		t.Errorf("running procedure: %v", err)
	}
	if _, err := records.ExportEFile(ctx, st, dir, "stadt-jena", ref, "otto", io.Discard); !errors.Is(err, records.ErrNoSuchApplication) {
		t.Errorf("another authority: %v", err)
	}
	// A document changed on disk is not exported as if it were the original.
	if err := overwrite(dir, ref, "bescheid"); err != nil {
		t.Fatal(err)
	}
	if _, err := records.ExportEFile(ctx, st, dir, "bauamt-erfurt", ref, "olga", io.Discard); !errors.Is(err, efile.ErrIntegrity) {
		t.Errorf("changed document: %v", err)
	}
}
