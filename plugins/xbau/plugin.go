package xbau

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/amtsweg/amtsweg/plugins/sdk"
	"github.com/amtsweg/amtsweg/plugins/xbau/xsd"
)

// Version is the xbau plugin's version.
const Version = "1.0.0"

// Common fields of every message input.
type Common struct {
	Reference string     `json:"reference" jsonschema:"description=File reference (Aktenzeichen)"`
	Author    *Authority `json:"author,omitempty" jsonschema:"description=Authoring authority; default from AMTSWEG_XBAU_AUTHORITY_ID/NAME"`
	CreatedAt string     `json:"createdAt,omitempty" jsonschema:"format=date-time,description=Creation time; default now"`
}

// ReceiptInput is the input of xbau.receipt-confirmation.
type ReceiptInput struct {
	Common
	ReceivedOn string  `json:"receivedOn" jsonschema:"format=date"`
	Project    Project `json:"project"`
	Applicant  Person  `json:"applicant"`
	Note       string  `json:"note,omitempty"`
}

// MissingDocumentsInput is the input of xbau.missing-documents.
type MissingDocumentsInput struct {
	Common
	Documents      []Document `json:"documents" jsonschema:"minItems=1"`
	Deadline       string     `json:"deadline" jsonschema:"format=date"`
	SuspendsPeriod bool       `json:"suspendsPeriod" jsonschema:"description=The processing period is suspended until the documents arrive (Fristhemmung)"`
	Applicant      Person     `json:"applicant"`
	Note           string     `json:"note,omitempty"`
}

// ParticipationInput is the input of xbau.participation-request.
type ParticipationInput struct {
	Common
	Authority   Authority    `json:"authority" jsonschema:"description=The authority asked to participate"`
	Project     Project      `json:"project"`
	Deadline    string       `json:"deadline" jsonschema:"format=date"`
	Request     string       `json:"request" jsonschema:"description=What the authority is asked for"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// DecisionInput is the input of xbau.decision.
type DecisionInput struct {
	Common
	Project     Project      `json:"project"`
	Outcome     string       `json:"outcome" jsonschema:"enum=approved,enum=approved-with-conditions,enum=rejected"`
	DecidedOn   string       `json:"decidedOn" jsonschema:"format=date"`
	Conditions  []string     `json:"conditions,omitempty"`
	Reasons     string       `json:"reasons,omitempty"`
	Fee         *float64     `json:"fee,omitempty" jsonschema:"minimum=0,description=Fee in EUR"`
	Attachments []Attachment `json:"attachments,omitempty"`
	Applicant   Person       `json:"applicant"`
}

var outcomes = map[string]string{
	"approved":                 "genehmigung",
	"approved-with-conditions": "genehmigung-mit-nebenbestimmungen",
	"rejected":                 "ablehnung",
}

// Builder builds messages.
type Builder struct {
	Schema *xsd.Schema
	// DefaultAuthor is used when a call names no author.
	DefaultAuthor *Authority
	Now           func() time.Time
}

// Plugin returns the xbau plugin configured from the environment.
func Plugin() (sdk.Plugin, error) {
	s, err := LoadSchema()
	if err != nil {
		return sdk.Plugin{}, err
	}
	b := &Builder{Schema: s, Now: time.Now}
	id, name := os.Getenv("AMTSWEG_XBAU_AUTHORITY_ID"), os.Getenv("AMTSWEG_XBAU_AUTHORITY_NAME")
	if (id == "") != (name == "") {
		return sdk.Plugin{}, errors.New("set both AMTSWEG_XBAU_AUTHORITY_ID and AMTSWEG_XBAU_AUTHORITY_NAME, or neither")
	}
	if id != "" {
		b.DefaultAuthor = &Authority{ID: id, Name: name}
	}
	return b.Plugin(), nil
}

// Plugin returns the plugin around b.
func (b *Builder) Plugin() sdk.Plugin {
	return sdk.Plugin{Name: "xbau", Version: Version, Activities: []sdk.Activity{
		sdk.Typed("receipt-confirmation", "Builds an XBau-style receipt confirmation (Eingangsbestätigung) for the applicant", wrap(b.Receipt)),
		sdk.Typed("missing-documents", "Builds an XBau-style request for missing documents (Nachforderung)", wrap(b.MissingDocuments)),
		sdk.Typed("participation-request", "Builds an XBau-style participation request to an authority (Beteiligung)", wrap(b.Participation)),
		sdk.Typed("decision", "Builds an XBau-style decision (Bescheid)", wrap(b.Decision)),
	}}
}

// wrap turns builder errors into final errors: the same input always
// fails the same way.
func wrap[In any](f func(call sdk.CallInfo, in In) (Built, error)) func(context.Context, sdk.CallInfo, In) (Built, error) {
	return func(_ context.Context, call sdk.CallInfo, in In) (Built, error) {
		out, err := f(call, in)
		if err != nil {
			return Built{}, sdk.Final(err)
		}
		return out, nil
	}
}

func (b *Builder) header(call sdk.CallInfo, c Common, typ string, r reader) (header, error) {
	author := c.Author
	if author == nil {
		author = b.DefaultAuthor
	}
	if author == nil {
		return header{}, errors.New("no author: pass author {id, name} or set AMTSWEG_XBAU_AUTHORITY_ID and AMTSWEG_XBAU_AUTHORITY_NAME")
	}
	now := b.Now
	if now == nil {
		now = time.Now
	}
	ts, err := timestamp(c.CreatedAt, now)
	if err != nil {
		return header{}, err
	}
	return header{Version: SchemaVersion, UUID: messageUUID(call.IdempotencyKey), Type: typ, Created: ts, Author: *author, Reader: r}, nil
}

// Receipt builds a receipt confirmation.
func (b *Builder) Receipt(call sdk.CallInfo, in ReceiptInput) (Built, error) {
	h, err := b.header(call, in.Common, "eingangsbestaetigung", reader{Applicant: &in.Applicant})
	if err != nil {
		return Built{}, err
	}
	return build(b.Schema, h.UUID, h.Type, receiptXML{Header: h, Reference: in.Reference, ReceivedOn: in.ReceivedOn, Project: in.Project, Note: in.Note})
}

// MissingDocuments builds a request for missing documents.
func (b *Builder) MissingDocuments(call sdk.CallInfo, in MissingDocumentsInput) (Built, error) {
	h, err := b.header(call, in.Common, "nachforderung", reader{Applicant: &in.Applicant})
	if err != nil {
		return Built{}, err
	}
	return build(b.Schema, h.UUID, h.Type, missingXML{Header: h, Reference: in.Reference, Documents: in.Documents,
		Deadline: in.Deadline, Suspends: in.SuspendsPeriod, Note: in.Note})
}

// Participation builds a participation request to an authority.
func (b *Builder) Participation(call sdk.CallInfo, in ParticipationInput) (Built, error) {
	h, err := b.header(call, in.Common, "beteiligungsanforderung", reader{Authority: &in.Authority})
	if err != nil {
		return Built{}, err
	}
	return build(b.Schema, h.UUID, h.Type, participationXML{Header: h, Reference: in.Reference, Project: in.Project,
		Deadline: in.Deadline, Request: in.Request, Attachments: in.Attachments})
}

// Decision builds a decision.
func (b *Builder) Decision(call sdk.CallInfo, in DecisionInput) (Built, error) {
	outcome, ok := outcomes[in.Outcome]
	if !ok {
		return Built{}, fmt.Errorf("outcome %q: use approved, approved-with-conditions or rejected", in.Outcome)
	}
	if in.Outcome == "approved-with-conditions" && len(in.Conditions) == 0 {
		return Built{}, errors.New("outcome approved-with-conditions needs at least one condition")
	}
	h, err := b.header(call, in.Common, "bescheid", reader{Applicant: &in.Applicant})
	if err != nil {
		return Built{}, err
	}
	msg := decisionXML{Header: h, Reference: in.Reference, Project: in.Project, Outcome: outcome, DecidedOn: in.DecidedOn,
		Conditions: trimAll(in.Conditions), Reasons: in.Reasons, Attachments: in.Attachments}
	if in.Fee != nil {
		msg.Fee = &fee{Amount: fmt.Sprintf("%.2f", *in.Fee), Currency: "EUR"}
	}
	return build(b.Schema, h.UUID, h.Type, msg)
}
