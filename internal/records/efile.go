package records

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/store"
)

// EFileFormat names the layout of an e-file export (see docs/records.md).
const EFileFormat = "amtsweg-efile-export/1"

// ErrNotClosed is returned for the e-file export of a procedure that has
// not ended.
var ErrNotClosed = errors.New("the procedure has not ended")

// ErrNoSuchApplication is returned when the reference is not an
// application of the authority (unknown or another authority's alike).
var ErrNoSuchApplication = errors.New("no such application in this authority")

// EFileManifest is manifest.json of an e-file export: what the archive
// holds, with the SHA-256 of every other file in it.
type EFileManifest struct {
	Format      string    `json:"format"`
	Reference   string    `json:"reference"`
	Tenant      string    `json:"tenant"`
	Procedure   string    `json:"procedure"`
	Version     string    `json:"version"`
	Title       string    `json:"title"`
	Outcome     string    `json:"outcome"`
	ReceivedAt  time.Time `json:"receivedAt"`
	CompletedAt time.Time `json:"completedAt"`
	ExportedAt  time.Time `json:"exportedAt"`
	ExportedBy  string    `json:"exportedBy"`
	// Documents lists the documents with the archive path of each.
	Documents []ExportedDocument `json:"documents"`
	// Audit is the verification of the audit chain at export time; the
	// chain itself is akte/protokoll.json.
	Audit store.AuditReport `json:"audit"`
	// Files lists every other file of the archive with its SHA-256.
	Files []ExportedFile `json:"files"`
}

// ExportedDocument is a document of the e-file and where it is in the
// archive.
type ExportedDocument struct {
	efile.Meta
	Path string `json:"path"`
}

// ExportedFile is a file of the archive.
type ExportedFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// unsafeName matches what is not kept of a document's name in its archive
// path.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._ äöüÄÖÜß-]+`)

func archiveName(name string) string {
	n := unsafeName.ReplaceAllString(name, "_")
	for len(n) > 0 && n[0] == '.' {
		n = n[1:]
	}
	if n == "" {
		n = "content"
	}
	return n
}

// ExportEFile writes the e-file of a closed procedure of tenant as a ZIP
// archive to w: the documents with their content, the case file's
// metadata, the audit chain with its verification, an xdomea-like XML
// manifest and manifest.json. efileDir is the e-file plugin's directory.
func ExportEFile(ctx context.Context, st *store.Store, efileDir, tenant, reference, by string, w io.Writer) (EFileManifest, error) {
	cf, err := st.CaseFile(ctx, reference)
	if errors.Is(err, store.ErrNotFound) || (err == nil && cf.Tenant != tenant) {
		return EFileManifest{}, fmt.Errorf("e-file export %s: %w (check the reference)", reference, ErrNoSuchApplication)
	}
	if err != nil {
		return EFileManifest{}, fmt.Errorf("e-file export %s: %w", reference, err)
	}
	if cf.State != "completed" || cf.CompletedAt == nil {
		return EFileManifest{}, fmt.Errorf("e-file export %s: %w (state %s); export it once it is completed", reference, ErrNotClosed, cf.State)
	}
	if efileDir == "" {
		return EFileManifest{}, fmt.Errorf("e-file export %s: no e-file directory: set AMTSWEG_EFILE_DIR (or the data dir) to the e-file plugin's directory", reference)
	}
	files, err := efile.NewStore(efileDir)
	if err != nil {
		return EFileManifest{}, err
	}
	docs, err := files.List(reference)
	if err != nil {
		return EFileManifest{}, err
	}
	entries, err := st.AuditEntries(ctx, reference)
	if err != nil {
		return EFileManifest{}, err
	}
	report, err := st.VerifyAuditChain(ctx, reference)
	if err != nil {
		return EFileManifest{}, err
	}

	m := EFileManifest{Format: EFileFormat, Reference: reference, Tenant: cf.Tenant, Procedure: cf.Procedure,
		Version: cf.Version, Title: cf.Title.De, ReceivedAt: cf.ReceivedAt, CompletedAt: *cf.CompletedAt,
		ExportedAt: time.Now().UTC(), ExportedBy: by, Audit: report, Documents: []ExportedDocument{}}
	if cf.Outcome != nil {
		m.Outcome = cf.Outcome.ID
	}
	zw := zip.NewWriter(w)
	put := func(path string, b []byte) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: reference + "/" + path, Method: zip.Deflate, Modified: m.ExportedAt})
		if err != nil {
			return err
		}
		if _, err := f.Write(b); err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m.Files = append(m.Files, ExportedFile{Path: path, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
		return nil
	}
	for i, d := range docs {
		meta, content, err := files.Get(reference, d.DocumentID)
		if err != nil {
			return EFileManifest{}, fmt.Errorf("e-file export %s: %w", reference, err)
		}
		path := fmt.Sprintf("dokumente/%03d_%s/%s", i+1, meta.DocumentID, archiveName(meta.Name))
		if err := put(path, content); err != nil {
			return EFileManifest{}, fmt.Errorf("e-file export %s: %w", reference, err)
		}
		m.Documents = append(m.Documents, ExportedDocument{Meta: meta, Path: path})
	}
	caseFile, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return EFileManifest{}, err
	}
	protocol, err := json.MarshalIndent(struct {
		Verification store.AuditReport  `json:"verification"`
		Entries      []store.AuditEntry `json:"entries"`
	}{report, entries}, "", "  ")
	if err != nil {
		return EFileManifest{}, err
	}
	xmlManifest, err := xdomeaLike(m)
	if err != nil {
		return EFileManifest{}, err
	}
	for _, f := range []struct {
		path string
		b    []byte
	}{{"akte/vorgang.json", caseFile}, {"akte/protokoll.json", protocol}, {"xdomea-manifest.xml", xmlManifest}} {
		if err := put(f.path, f.b); err != nil {
			return EFileManifest{}, fmt.Errorf("e-file export %s: %w", reference, err)
		}
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return EFileManifest{}, err
	}
	f, err := zw.CreateHeader(&zip.FileHeader{Name: reference + "/manifest.json", Method: zip.Deflate, Modified: m.ExportedAt})
	if err == nil {
		_, err = f.Write(manifest)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return EFileManifest{}, fmt.Errorf("e-file export %s: %w", reference, err)
	}
	return m, nil
}

// The XML manifest borrows xdomea's vocabulary for its record objects
// (Akte, Vorgang, Dokument, Identifikation, AllgemeineMetadaten, Version,
// Format, Primaerdokument) but is in Amtsweg's own namespace and not
// validated against the xdomea schema, which is not available here (see
// docs/records.md).
type xAussonderung struct {
	XMLName xml.Name `xml:"urn:amtsweg:efile-export:1 Aussonderung"`
	Format  string   `xml:"format,attr"`
	Kopf    xKopf    `xml:"Kopf"`
	Akte    xAkte    `xml:"Schriftgutobjekt>Akte"`
}

type xKopf struct {
	Erstellungszeitpunkt string `xml:"Erstellungszeitpunkt"`
	Absender             string `xml:"Absender>Behoerde"`
	Bearbeiter           string `xml:"Absender>Bearbeiter"`
}

type xIdentifikation struct {
	ID string `xml:"ID"`
}

type xMetadaten struct {
	Betreff     string `xml:"Betreff"`
	Kennzeichen string `xml:"Kennzeichen,omitempty"`
}

type xAkte struct {
	Identifikation xIdentifikation `xml:"Identifikation"`
	Metadaten      xMetadaten      `xml:"AllgemeineMetadaten"`
	Laufzeit       xLaufzeit       `xml:"Laufzeit"`
	Vorgang        xVorgang        `xml:"Vorgang"`
}

type xLaufzeit struct {
	Beginn string `xml:"Beginn"`
	Ende   string `xml:"Ende"`
}

type xVorgang struct {
	Identifikation xIdentifikation `xml:"Identifikation"`
	Metadaten      xMetadaten      `xml:"AllgemeineMetadaten"`
	Verfahren      string          `xml:"Verfahren"`
	Ergebnis       string          `xml:"Ergebnis,omitempty"`
	Protokoll      xDatei          `xml:"Protokoll"`
	Dokumente      []xDokument     `xml:"Dokument"`
}

type xDokument struct {
	Identifikation xIdentifikation `xml:"Identifikation"`
	Metadaten      xMetadaten      `xml:"AllgemeineMetadaten"`
	Art            string          `xml:"Dokumenttyp"`
	Eingang        string          `xml:"Datum"`
	Version        xVersion        `xml:"Version"`
}

type xVersion struct {
	Nummer string  `xml:"Nummer"`
	Format xFormat `xml:"Format"`
}

type xFormat struct {
	Name  string `xml:"Name"`
	Datei xDatei `xml:"Primaerdokument"`
}

type xDatei struct {
	Dateiname string `xml:"Dateiname"`
	SHA256    string `xml:"Pruefsumme"`
}

func xdomeaLike(m EFileManifest) ([]byte, error) {
	protocol := ""
	for _, f := range m.Files {
		if f.Path == "akte/protokoll.json" {
			protocol = f.SHA256
		}
	}
	a := xAussonderung{Format: EFileFormat,
		Kopf: xKopf{Erstellungszeitpunkt: m.ExportedAt.Format(time.RFC3339), Absender: m.Tenant, Bearbeiter: m.ExportedBy},
		Akte: xAkte{
			Identifikation: xIdentifikation{ID: m.Reference},
			Metadaten:      xMetadaten{Betreff: m.Title, Kennzeichen: m.Reference},
			Laufzeit:       xLaufzeit{Beginn: m.ReceivedAt.Format(time.DateOnly), Ende: m.CompletedAt.Format(time.DateOnly)},
			Vorgang: xVorgang{
				Identifikation: xIdentifikation{ID: m.Reference + "-vorgang"},
				Metadaten:      xMetadaten{Betreff: m.Title},
				Verfahren:      m.Procedure + " " + m.Version,
				Ergebnis:       m.Outcome,
				Protokoll:      xDatei{Dateiname: "akte/protokoll.json", SHA256: protocol},
			},
		}}
	for _, d := range m.Documents {
		a.Akte.Vorgang.Dokumente = append(a.Akte.Vorgang.Dokumente, xDokument{
			Identifikation: xIdentifikation{ID: d.DocumentID},
			Metadaten:      xMetadaten{Betreff: d.Name},
			Art:            d.Kind,
			Eingang:        d.StoredAt.Format(time.DateOnly),
			Version: xVersion{Nummer: "1", Format: xFormat{Name: d.MediaType,
				Datei: xDatei{Dateiname: d.Path, SHA256: d.SHA256}}},
		})
	}
	b, err := xml.MarshalIndent(a, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("xml manifest: %w", err)
	}
	return append([]byte(xml.Header), b...), nil
}
