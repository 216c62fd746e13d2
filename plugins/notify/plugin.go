package notify

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// Version is the notify plugin's version.
const Version = "1.0.0"

// Recipient is one addressee.
type Recipient struct {
	Address string `json:"address" jsonschema:"format=email"`
	Name    string `json:"name,omitempty"`
}

// SendInput is the input of notify.send.
type SendInput struct {
	Template string         `json:"template"`
	Language string         `json:"language,omitempty"`
	To       []Recipient    `json:"to"`
	Data     map[string]any `json:"data,omitempty"`
}

// SendOutput is the output of notify.send.
type SendOutput struct {
	MessageID  string    `json:"messageId"`
	Subject    string    `json:"subject"`
	Recipients []string  `json:"recipients"`
	SentAt     time.Time `json:"sentAt"`
	// Duplicate is true when the message had already been sent for this
	// idempotency key and nothing was sent now.
	Duplicate bool `json:"duplicate"`
}

// Notifier renders and sends messages.
type Notifier struct {
	From      *mail.Address
	Templates *Templates
	Transport Transport
	Ledger    *Ledger
	Now       func() time.Time
}

// Plugin returns the notify plugin configured from the environment (see
// the package documentation).
func Plugin() (sdk.Plugin, error) {
	n, err := FromEnv()
	if err != nil {
		return sdk.Plugin{}, err
	}
	return n.Plugin(), nil
}

// FromEnv builds a Notifier from the environment.
func FromEnv() (*Notifier, error) {
	data := os.Getenv("AMTSWEG_DATA_DIR")
	orData := func(env, sub string) string {
		if v := os.Getenv(env); v != "" {
			return v
		}
		if data == "" {
			return ""
		}
		return filepath.Join(data, sub)
	}
	fromStr := os.Getenv("AMTSWEG_NOTIFY_FROM")
	if fromStr == "" {
		return nil, errors.New("AMTSWEG_NOTIFY_FROM is not set: set the sender, e.g. \"Bauaufsicht <bauaufsicht@lra.example>\"")
	}
	from, err := mail.ParseAddress(fromStr)
	if err != nil {
		return nil, fmt.Errorf("AMTSWEG_NOTIFY_FROM %q: %w", fromStr, err)
	}
	var tpl *Templates
	if dir := os.Getenv("AMTSWEG_NOTIFY_TEMPLATES"); dir != "" {
		tpl, err = LoadTemplates(os.DirFS(dir))
	} else {
		tpl, err = EmbeddedTemplates()
	}
	if err != nil {
		return nil, fmt.Errorf("notify templates: %w", err)
	}
	var tr Transport
	switch t := os.Getenv("AMTSWEG_NOTIFY_TRANSPORT"); t {
	case "file":
		tr, err = NewFileSink(orData("AMTSWEG_NOTIFY_OUTBOX", "outbox"))
	case "smtp":
		cfg := SMTPConfig{
			Addr:     os.Getenv("AMTSWEG_SMTP_ADDR"),
			Security: os.Getenv("AMTSWEG_SMTP_SECURITY"),
			Username: os.Getenv("AMTSWEG_SMTP_USERNAME"),
			Password: os.Getenv("AMTSWEG_SMTP_PASSWORD"),
		}
		if f := os.Getenv("AMTSWEG_SMTP_PASSWORD_FILE"); f != "" {
			b, rerr := os.ReadFile(f)
			if rerr != nil {
				return nil, fmt.Errorf("AMTSWEG_SMTP_PASSWORD_FILE: %w", rerr)
			}
			cfg.Password = strings.TrimRight(string(b), "\r\n")
		}
		if f := os.Getenv("AMTSWEG_SMTP_CA_FILE"); f != "" {
			pem, rerr := os.ReadFile(f)
			if rerr != nil {
				return nil, fmt.Errorf("AMTSWEG_SMTP_CA_FILE: %w", rerr)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("AMTSWEG_SMTP_CA_FILE %s holds no PEM certificate", f)
			}
		}
		if v := os.Getenv("AMTSWEG_SMTP_TIMEOUT"); v != "" {
			if cfg.Timeout, err = time.ParseDuration(v); err != nil {
				return nil, fmt.Errorf("AMTSWEG_SMTP_TIMEOUT: %w", err)
			}
		}
		tr, err = NewSMTP(cfg)
	case "":
		return nil, errors.New("AMTSWEG_NOTIFY_TRANSPORT is not set: set it to smtp (with AMTSWEG_SMTP_ADDR) or, for development, to file")
	default:
		return nil, fmt.Errorf("AMTSWEG_NOTIFY_TRANSPORT %q: use smtp or file", t)
	}
	if err != nil {
		return nil, err
	}
	ledger, err := NewLedger(orData("AMTSWEG_NOTIFY_LEDGER", "ledger"))
	if err != nil {
		return nil, err
	}
	return &Notifier{From: from, Templates: tpl, Transport: tr, Ledger: ledger}, nil
}

// Plugin returns the notify plugin around n.
func (n *Notifier) Plugin() sdk.Plugin {
	send := sdk.Typed("send", "Sends an e-mail rendered from a template to citizens or clerks, once per idempotency key", n.send)
	send.Input = n.inputSchema()
	return sdk.Plugin{Name: "notify", Version: Version, Activities: []sdk.Activity{send}}
}

func (n *Notifier) inputSchema() json.RawMessage {
	schema := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"template", "to"},
		"properties": map[string]any{
			"template": map[string]any{"enum": n.Templates.Names(), "description": "Message template"},
			"language": map[string]any{"enum": Languages, "description": "Language of the message (default de)"},
			"to": map[string]any{
				"type": "array", "minItems": 1,
				"items": map[string]any{
					"type": "object", "additionalProperties": false, "required": []string{"address"},
					"properties": map[string]any{
						"address": map[string]any{"type": "string", "minLength": 3},
						"name":    map[string]any{"type": "string"},
					},
				},
			},
			"data": map[string]any{"type": "object", "description": "Values the template uses, e.g. applicantName, deadline"},
		},
	}
	b, _ := json.Marshal(schema)
	return b
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

func (n *Notifier) send(ctx context.Context, call sdk.CallInfo, in SendInput) (SendOutput, error) {
	if call.IdempotencyKey == "" {
		return SendOutput{}, sdk.Finalf("notify.send needs an idempotency key so that a retry does not send twice")
	}
	unlock, err := n.Ledger.lock(ctx, call.IdempotencyKey)
	if err != nil {
		return SendOutput{}, sdk.Retryable(err)
	}
	defer unlock()
	if e, ok, err := n.Ledger.Lookup(call.IdempotencyKey); err != nil {
		return SendOutput{}, sdk.Retryable(err)
	} else if ok {
		call.Logger.Info("message already sent, not sending again", "messageId", e.MessageID)
		return SendOutput{MessageID: e.MessageID, Subject: e.Subject, Recipients: e.Recipients, SentAt: e.SentAt, Duplicate: true}, nil
	}
	lang := in.Language
	if lang == "" {
		lang = "de"
	}
	subject, body, err := n.Templates.Render(in.Template, lang, TemplateData{Reference: call.Reference, Tenant: call.Tenant, Data: in.Data})
	if err != nil {
		return SendOutput{}, sdk.Final(err)
	}
	m := &Message{ID: messageID(call.IdempotencyKey, n.From), From: n.From, Subject: subject, Body: body, Date: n.now()}
	var rcpts []string
	for _, r := range in.To {
		a, err := mail.ParseAddress(r.Address)
		if err != nil {
			return SendOutput{}, sdk.Finalf("recipient %q is not a valid e-mail address: %v", r.Address, err)
		}
		if r.Name != "" {
			a.Name = r.Name
		}
		m.To = append(m.To, a)
		rcpts = append(rcpts, a.Address)
	}
	if err := n.Transport.Send(ctx, m); err != nil {
		var pe *PermanentError
		if errors.As(err, &pe) {
			return SendOutput{}, sdk.Final(err)
		}
		return SendOutput{}, sdk.Retryable(err)
	}
	e := Entry{Key: call.IdempotencyKey, MessageID: m.ID, Template: in.Template, Language: lang,
		Recipients: rcpts, Subject: subject, SentAt: m.Date.UTC(), Transport: n.Transport.Describe()}
	if err := n.Ledger.Record(e); err != nil {
		// The message is out; report success so that nothing retries it.
		// Only a later call with the same key could send it again.
		call.Logger.Error("message sent but not recorded in the ledger", "messageId", m.ID, "error", err)
	}
	call.Logger.Info("message sent", "messageId", m.ID, "template", in.Template, "language", lang, "recipients", len(rcpts), "transport", n.Transport.Describe())
	return SendOutput{MessageID: m.ID, Subject: subject, Recipients: rcpts, SentAt: e.SentAt}, nil
}
