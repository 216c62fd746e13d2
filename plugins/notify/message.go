package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Message is a rendered e-mail.
type Message struct {
	ID      string // Message-ID without angle brackets
	From    *mail.Address
	To      []*mail.Address
	Subject string
	Body    string
	Date    time.Time
}

// messageID derives a stable Message-ID from the idempotency key, so that
// even a duplicate delivery (a crash between sending and recording) carries
// the same id and can be recognised by the receiving side.
func messageID(key string, from *mail.Address) string {
	sum := sha256.Sum256([]byte(key))
	domain := "amtsweg.invalid"
	if i := strings.LastIndexByte(from.Address, '@'); i >= 0 {
		domain = from.Address[i+1:]
	}
	return hex.EncodeToString(sum[:16]) + "@" + domain
}

// Bytes renders the message in RFC 5322 form: UTF-8 text, quoted-printable,
// non-ASCII headers encoded per RFC 2047.
func (m *Message) Bytes() []byte {
	var b bytes.Buffer
	to := make([]string, len(m.To))
	for i, a := range m.To {
		to[i] = a.String()
	}
	fmt.Fprintf(&b, "From: %s\r\n", m.From.String())
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", m.Date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", m.ID)
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n")
	b.WriteString("Auto-Submitted: auto-generated\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	qp.Write([]byte(body))
	qp.Close()
	return b.Bytes()
}
