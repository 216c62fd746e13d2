package xbau

import (
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/plugins/xbau/xsd"
)

// Namespace is the messages' XML namespace.
const Namespace = "urn:amtsweg:xbau-subset:1"

// SchemaVersion is written into every message header.
const SchemaVersion = "1.0"

//go:embed schema/xbau-subset.xsd
var schemaXSD []byte

// LoadSchema loads the embedded XSD.
func LoadSchema() (*xsd.Schema, error) {
	s, err := xsd.Load(schemaXSD)
	if err != nil {
		return nil, fmt.Errorf("xbau schema: %w", err)
	}
	return s, nil
}

// Authority is an authority (Behörde).
type Authority struct {
	ID   string `xml:"kennung" json:"id" jsonschema:"description=Authority identifier (e.g. its DVDV or internal id)"`
	Name string `xml:"name" json:"name"`
}

// Person is an applicant.
type Person struct {
	Name    string `xml:"name" json:"name"`
	Address string `xml:"anschrift,omitempty" json:"address,omitempty"`
	Email   string `xml:"email,omitempty" json:"email,omitempty"`
}

// Parcel identifies the land (Grundstück).
type Parcel struct {
	District string   `xml:"gemarkung" json:"district" jsonschema:"description=Gemarkung"`
	Flur     string   `xml:"flur,omitempty" json:"flur,omitempty"`
	Parcels  []string `xml:"flurstueck" json:"parcels" jsonschema:"minItems=1,description=Flurstücke"`
}

// Project is the building project (Vorhaben).
type Project struct {
	Title  string  `xml:"bezeichnung" json:"title"`
	Parcel *Parcel `xml:"grundstueck,omitempty" json:"parcel,omitempty"`
}

// Document is a missing document.
type Document struct {
	Title  string `xml:"bezeichnung" json:"title"`
	Reason string `xml:"grund,omitempty" json:"reason,omitempty"`
}

// Attachment is a document of the e-file sent along.
type Attachment struct {
	DocumentID string `xml:"dokumentID" json:"documentId"`
	Title      string `xml:"bezeichnung" json:"title"`
	SHA256     string `xml:"sha256" json:"sha256"`
}

type reader struct {
	Authority *Authority `xml:"behoerde,omitempty"`
	Applicant *Person    `xml:"antragsteller,omitempty"`
}

type header struct {
	Version string    `xml:"version,attr"`
	UUID    string    `xml:"nachrichtenUUID"`
	Type    string    `xml:"nachrichtentyp"`
	Created string    `xml:"erstellungszeitpunkt"`
	Author  Authority `xml:"autor"`
	Reader  reader    `xml:"leser"`
}

type receiptXML struct {
	XMLName    xml.Name `xml:"urn:amtsweg:xbau-subset:1 eingangsbestaetigung"`
	Header     header   `xml:"nachrichtenkopf"`
	Reference  string   `xml:"aktenzeichen"`
	ReceivedOn string   `xml:"eingangsdatum"`
	Project    Project  `xml:"vorhaben"`
	Note       string   `xml:"hinweis,omitempty"`
}

type missingXML struct {
	XMLName   xml.Name   `xml:"urn:amtsweg:xbau-subset:1 nachforderung"`
	Header    header     `xml:"nachrichtenkopf"`
	Reference string     `xml:"aktenzeichen"`
	Documents []Document `xml:"fehlendeUnterlage"`
	Deadline  string     `xml:"frist"`
	Suspends  bool       `xml:"fristhemmung"`
	Note      string     `xml:"hinweis,omitempty"`
}

type participationXML struct {
	XMLName     xml.Name     `xml:"urn:amtsweg:xbau-subset:1 beteiligungsanforderung"`
	Header      header       `xml:"nachrichtenkopf"`
	Reference   string       `xml:"aktenzeichen"`
	Project     Project      `xml:"vorhaben"`
	Deadline    string       `xml:"frist"`
	Request     string       `xml:"anliegen"`
	Attachments []Attachment `xml:"anlage"`
}

type fee struct {
	Amount   string `xml:"betrag"`
	Currency string `xml:"waehrung"`
}

type decisionXML struct {
	XMLName     xml.Name     `xml:"urn:amtsweg:xbau-subset:1 bescheid"`
	Header      header       `xml:"nachrichtenkopf"`
	Reference   string       `xml:"aktenzeichen"`
	Project     Project      `xml:"vorhaben"`
	Outcome     string       `xml:"entscheidung"`
	DecidedOn   string       `xml:"entscheidungsdatum"`
	Conditions  []string     `xml:"nebenbestimmung"`
	Reasons     string       `xml:"begruendung,omitempty"`
	Fee         *fee         `xml:"gebuehr,omitempty"`
	Attachments []Attachment `xml:"anlage"`
}

// messageUUID derives the message id from the idempotency key, so that a
// retried call builds a message with the same id; without a key it is
// random.
func messageUUID(key string) string {
	var b [16]byte
	if key != "" {
		sum := sha256.Sum256([]byte("xbau:" + key))
		copy(b[:], sum[:16])
	} else {
		rand.Read(b[:])
	}
	b[6] = b[6]&0x0f | 0x80 // version 8 (custom)
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Built is a built and validated message.
type Built struct {
	MessageID   string `json:"messageId"`
	MessageType string `json:"messageType"`
	XML         string `json:"xml"`
	SHA256      string `json:"sha256"`
}

// build marshals v, validates it and returns it.
func build(schema *xsd.Schema, id, typ string, v any) (Built, error) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return Built{}, fmt.Errorf("marshal %s: %w", typ, err)
	}
	doc := append([]byte(xml.Header), b...)
	doc = append(doc, '\n')
	if err := schema.Validate(doc); err != nil {
		return Built{}, err
	}
	sum := sha256.Sum256(doc)
	return Built{MessageID: id, MessageType: typ, XML: string(doc), SHA256: fmt.Sprintf("%x", sum)}, nil
}

func timestamp(createdAt string, now func() time.Time) (string, error) {
	if createdAt == "" {
		return now().UTC().Truncate(time.Second).Format(time.RFC3339), nil
	}
	t, err := time.Parse(time.RFC3339, createdAt)
	if err != nil {
		return "", fmt.Errorf("createdAt %q is not an RFC 3339 time: %w", createdAt, err)
	}
	return t.Format(time.RFC3339), nil
}

func trimAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimSpace(s)
	}
	return out
}
