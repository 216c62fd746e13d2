package notify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/amtsweg/amtsweg/plugins"
	"github.com/amtsweg/amtsweg/plugins/notify"
	"github.com/amtsweg/amtsweg/plugins/sdk/sdktest"
)

func receipt(to string) notify.SendInput {
	return notify.SendInput{
		Template: "receipt-confirmation", Language: "de",
		To: []notify.Recipient{{Address: to, Name: "Jürgen Müller"}},
		Data: map[string]any{
			"applicantName": "Jürgen Müller", "procedureTitle": "Bauantrag Einfamilienhaus",
			"receivedOn": "03.11.2025", "authorityName": "Landratsamt Saale-Orla-Kreis",
		},
	}
}

func callWithKey(key string) plugins.Call {
	return plugins.Call{Activity: "send", Reference: "BA-2025-000777", Tenant: "lra-sok", IdempotencyKey: key, Attempt: 1}
}

func readEML(t *testing.T, raw []byte) (*mail.Message, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg, subject, string(body)
}

func emls(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	return files
}

func TestFileSinkAndIdempotency(t *testing.T) {
	data := t.TempDir()
	t.Setenv("AMTSWEG_DATA_DIR", data)
	t.Setenv("AMTSWEG_NOTIFY_TRANSPORT", "file")
	t.Setenv("AMTSWEG_NOTIFY_FROM", "Bauaufsicht <bauaufsicht@lra-sok.example>")
	p, err := notify.Plugin()
	if err != nil {
		t.Fatal(err)
	}
	conn := sdktest.Start(t, p)
	ctx := context.Background()

	var first, retry notify.SendOutput
	if err := conn.CallWith(ctx, callWithKey("wf-1/3"), receipt("juergen@example.org"), &first); err != nil {
		t.Fatal(err)
	}
	c := callWithKey("wf-1/3")
	c.Attempt = 2
	if err := conn.CallWith(ctx, c, receipt("juergen@example.org"), &retry); err != nil {
		t.Fatal(err)
	}
	if first.Duplicate || !retry.Duplicate || retry.MessageID != first.MessageID {
		t.Fatalf("first %+v, retry %+v", first, retry)
	}
	files := emls(t, filepath.Join(data, "outbox"))
	if len(files) != 1 {
		t.Fatalf("outbox has %d messages after a retried send, want 1", len(files))
	}
	raw, _ := os.ReadFile(files[0])
	msg, subject, body := readEML(t, raw)
	if subject != "Eingangsbestätigung zu Ihrem Antrag BA-2025-000777" {
		t.Errorf("subject = %q", subject)
	}
	for _, want := range []string{"Jürgen Müller", "„Bauantrag Einfamilienhaus“", "03.11.2025", "Aktenzeichen BA-2025-000777", "Landratsamt Saale-Orla-Kreis"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if to, _ := msg.Header.AddressList("To"); len(to) != 1 || to[0].Address != "juergen@example.org" || to[0].Name != "Jürgen Müller" {
		t.Errorf("To = %v", msg.Header.Get("To"))
	}
	if msg.Header.Get("Message-ID") != "<"+first.MessageID+">" || !strings.HasSuffix(first.MessageID, "@lra-sok.example") {
		t.Errorf("Message-ID = %s, output %s", msg.Header.Get("Message-ID"), first.MessageID)
	}

	// Another call (another key) sends another message, in English.
	en := receipt("jane@example.org")
	en.Language = "en"
	if err := conn.CallWith(ctx, callWithKey("wf-1/9"), en, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(emls(t, filepath.Join(data, "outbox"))); n != 2 {
		t.Fatalf("outbox has %d messages, want 2", n)
	}

	// Missing template data and unknown templates are final errors.
	bad := receipt("x@example.org")
	delete(bad.Data, "receivedOn")
	err = conn.CallWith(ctx, callWithKey("wf-1/10"), bad, nil)
	var pe *plugins.Error
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "receivedOn") {
		t.Fatalf("missing data: %v", err)
	}
	bad = receipt("x@example.org")
	bad.Template = "love-letter"
	err = conn.CallWith(ctx, callWithKey("wf-1/11"), bad, nil)
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "/template") {
		t.Fatalf("unknown template: %v", err)
	}
	err = conn.CallWith(ctx, callWithKey(""), receipt("x@example.org"), nil)
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "idempotency key") {
		t.Fatalf("no key: %v", err)
	}
}

func TestConfigurationErrors(t *testing.T) {
	t.Setenv("AMTSWEG_DATA_DIR", t.TempDir())
	t.Setenv("AMTSWEG_NOTIFY_FROM", "a@example.org")
	t.Setenv("AMTSWEG_NOTIFY_TRANSPORT", "")
	if _, err := notify.Plugin(); err == nil || !strings.Contains(err.Error(), "AMTSWEG_NOTIFY_TRANSPORT") {
		t.Errorf("no transport: %v", err)
	}
	t.Setenv("AMTSWEG_NOTIFY_TRANSPORT", "smtp")
	if _, err := notify.Plugin(); err == nil || !strings.Contains(err.Error(), "AMTSWEG_SMTP_ADDR") {
		t.Errorf("no SMTP address: %v", err)
	}
	t.Setenv("AMTSWEG_SMTP_ADDR", "127.0.0.1:25")
	t.Setenv("AMTSWEG_SMTP_SECURITY", "none")
	t.Setenv("AMTSWEG_SMTP_USERNAME", "u")
	if _, err := notify.Plugin(); err == nil || !strings.Contains(err.Error(), "without TLS") {
		t.Errorf("credentials without TLS: %v", err)
	}
}

func TestTemplateChecks(t *testing.T) {
	ok := "{{define \"subject\"}}S{{end}}{{define \"body\"}}B{{end}}"
	if _, err := notify.LoadTemplates(fstest.MapFS{"de/a.tmpl": {Data: []byte(ok)}}); err == nil || !strings.Contains(err.Error(), "en/a.tmpl") {
		t.Errorf("missing English version: %v", err)
	}
	if _, err := notify.LoadTemplates(fstest.MapFS{"de/a.tmpl": {Data: []byte("{{define \"body\"}}B{{end}}")}, "en/a.tmpl": {Data: []byte(ok)}}); err == nil || !strings.Contains(err.Error(), "subject") {
		t.Errorf("missing subject: %v", err)
	}
	tpl, err := notify.EmbeddedTemplates()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"application-complete", "application-withdrawn", "building-decision", "continuation-hearing", "continuation-prohibited", "decision", "decision-period-extended", "deemed-approval",
		"documents-missing", "hearing", "neighbour-notification", "participation-request", "permit-free-notice", "receipt-confirmation",
		"resident-parking-permit", "resident-parking-refused", "task-assigned", "task-overdue", "trade-receipt", "withdrawal-confirmed"}
	if got := strings.Join(tpl.Names(), ","); got != strings.Join(want, ",") {
		t.Errorf("embedded templates = %s", got)
	}
	_, body, err := tpl.Render("documents-missing", "de", notify.TemplateData{Reference: "BA-1", Data: map[string]any{
		"documents": []any{"Lageplan", "Standsicherheitsnachweis"}, "deadline": "01.12.2025", "authorityName": "Bauamt"}})
	if err != nil || !strings.Contains(body, "  - Lageplan\n  - Standsicherheitsnachweis") || !strings.Contains(body, "01.12.2025") {
		t.Errorf("documents-missing: %v\n%s", err, body)
	}
}

// --- SMTP transport against an in-test SMTP server (emersion/go-smtp) ---

type received struct {
	from string
	to   []string
	data []byte
}

type backend struct {
	mu       sync.Mutex
	msgs     []received
	rcptCode int // reply to RCPT when non-zero
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct {
	b     *backend
	authd bool
	cur   received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "amtsweg" || pass != "geheim" {
			return errors.New("invalid credentials")
		}
		s.authd = true
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authd {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	s.cur.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.b.mu.Lock()
	code := s.b.rcptCode
	s.b.mu.Unlock()
	if code != 0 {
		return &smtp.SMTPError{Code: code, Message: "mailbox problem"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}

func startSMTP(t *testing.T) (*backend, string, string) {
	t.Helper()
	cert, certPEM := selfSigned(t)
	be := &backend{}
	srv := smtp.NewServer(be)
	srv.Domain = "smtp.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, certPEM, 0o600)
	return be, l.Addr().String(), caFile
}

func TestSMTPTransport(t *testing.T) {
	be, addr, caFile := startSMTP(t)
	data := t.TempDir()
	secret := filepath.Join(t.TempDir(), "smtp-password")
	os.WriteFile(secret, []byte("geheim\n"), 0o600)
	t.Setenv("AMTSWEG_DATA_DIR", data)
	t.Setenv("AMTSWEG_NOTIFY_TRANSPORT", "smtp")
	t.Setenv("AMTSWEG_NOTIFY_FROM", "Bauaufsicht <bauaufsicht@lra-sok.example>")
	t.Setenv("AMTSWEG_SMTP_ADDR", addr)
	t.Setenv("AMTSWEG_SMTP_SECURITY", "starttls")
	t.Setenv("AMTSWEG_SMTP_USERNAME", "amtsweg")
	t.Setenv("AMTSWEG_SMTP_PASSWORD_FILE", secret)
	t.Setenv("AMTSWEG_SMTP_CA_FILE", caFile)
	p, err := notify.Plugin()
	if err != nil {
		t.Fatal(err)
	}
	conn := sdktest.Start(t, p)
	ctx := context.Background()

	in := receipt("juergen@example.org")
	in.To = append(in.To, notify.Recipient{Address: "akte@lra-sok.example"})
	for attempt := int32(1); attempt <= 2; attempt++ {
		c := callWithKey("wf-2/4")
		c.Attempt = attempt
		if err := conn.CallWith(ctx, c, in, nil); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}
	be.mu.Lock()
	msgs := append([]received(nil), be.msgs...)
	be.mu.Unlock()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages for one idempotency key, want 1", len(msgs))
	}
	m := msgs[0]
	if m.from != "bauaufsicht@lra-sok.example" || strings.Join(m.to, ",") != "juergen@example.org,akte@lra-sok.example" {
		t.Fatalf("envelope from %s to %v", m.from, m.to)
	}
	_, subject, body := readEML(t, m.data)
	if !strings.Contains(subject, "BA-2025-000777") || !strings.Contains(body, "Jürgen Müller") {
		t.Fatalf("message: %s\n%s", subject, body)
	}
	if len(emls(t, filepath.Join(data, "outbox"))) != 0 {
		t.Error("the SMTP transport wrote to the file sink")
	}

	// A permanent rejection is final, a temporary one retryable.
	var pe *plugins.Error
	be.mu.Lock()
	be.rcptCode = 550
	be.mu.Unlock()
	err = conn.CallWith(ctx, callWithKey("wf-2/5"), in, nil)
	if !errors.As(err, &pe) || pe.Retryable || !strings.Contains(pe.Message, "550") {
		t.Fatalf("550: %v", err)
	}
	be.mu.Lock()
	be.rcptCode = 451
	be.mu.Unlock()
	err = conn.CallWith(ctx, callWithKey("wf-2/6"), in, nil)
	if !errors.As(err, &pe) || !pe.Retryable {
		t.Fatalf("451: %v", err)
	}
	// After the temporary failure the retry goes through.
	be.mu.Lock()
	be.rcptCode = 0
	be.mu.Unlock()
	if err := conn.CallWith(ctx, callWithKey("wf-2/6"), in, nil); err != nil {
		t.Fatalf("retry after 451: %v", err)
	}
}

func TestSMTPUnreachableIsRetryable(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	tr, err := notify.NewSMTP(notify.SMTPConfig{Addr: addr, Security: "starttls", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	from := &mail.Address{Address: "a@example.org"}
	err = tr.Send(context.Background(), &notify.Message{ID: "x@example.org", From: from, To: []*mail.Address{from}, Date: time.Now()})
	var perm *notify.PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Fatalf("unreachable server: %v, want a temporary error", err)
	}
}

// crashAfterSend delivers through the file sink, then fails as a worker
// does that is killed before the ledger records the message.
type crashAfterSend struct {
	*notify.FileSink
	crashes int
}

func (c *crashAfterSend) Send(ctx context.Context, m *notify.Message) error {
	if err := c.FileSink.Send(ctx, m); err != nil {
		return err
	}
	if c.crashes > 0 {
		c.crashes--
		return errors.New("worker killed after delivering, before recording")
	}
	return nil
}

// A call retried after the message went out but before the ledger recorded
// it (the worker was SIGKILLed in between) does not put the message into
// the outbox twice: the file sink delivers once per message ID.
func TestFileSinkOncePerMessageAfterCrash(t *testing.T) {
	data := t.TempDir()
	sink, err := notify.NewFileSink(filepath.Join(data, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := notify.NewLedger(filepath.Join(data, "ledger"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := notify.EmbeddedTemplates()
	if err != nil {
		t.Fatal(err)
	}
	from, _ := mail.ParseAddress("Bauaufsicht <bauaufsicht@lra-sok.example>")
	tr := &crashAfterSend{FileSink: sink, crashes: 1}
	n := &notify.Notifier{From: from, Templates: tpl, Transport: tr, Ledger: ledger}
	conn := sdktest.Start(t, n.Plugin())
	ctx := context.Background()

	if err := conn.CallWith(ctx, callWithKey("wf-7/2"), receipt("juergen@example.org"), nil); err == nil {
		t.Fatal("the first attempt should fail as its worker died")
	}
	retry := callWithKey("wf-7/2")
	retry.Attempt = 2
	var out notify.SendOutput
	if err := conn.CallWith(ctx, retry, receipt("juergen@example.org"), &out); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if files := emls(t, filepath.Join(data, "outbox")); len(files) != 1 {
		t.Fatalf("outbox has %d messages after a send retried past a crash, want 1: %v", len(files), files)
	}
	if _, ok, err := ledger.Lookup("wf-7/2"); err != nil || !ok {
		t.Fatalf("the retry did not record the message in the ledger: %v %v", ok, err)
	}
	// Another key is another message.
	if err := conn.CallWith(ctx, callWithKey("wf-7/3"), receipt("juergen@example.org"), nil); err != nil {
		t.Fatal(err)
	}
	if files := emls(t, filepath.Join(data, "outbox")); len(files) != 2 {
		t.Fatalf("outbox has %d messages after a second key, want 2", len(files))
	}
}

// slowSink counts deliveries and takes a while for each, so that two
// attempts of one call overlap.
type slowSink struct {
	mu   sync.Mutex
	sent int
}

func (s *slowSink) Send(context.Context, *notify.Message) error {
	time.Sleep(200 * time.Millisecond)
	s.mu.Lock()
	s.sent++
	s.mu.Unlock()
	return nil
}

func (s *slowSink) Describe() string { return "slow sink" }

// Two workers share the ledger directory (one volume for every replica).
// When two attempts of one call run at once on both (the first still
// running when the call timed out and was retried on the other), the
// message is delivered once: the ledger's lock holds across processes.
// Two Ledger values on one directory stand for the two processes.
func TestLedgerLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	tpl, err := notify.EmbeddedTemplates()
	if err != nil {
		t.Fatal(err)
	}
	from, _ := mail.ParseAddress("Bauaufsicht <bauaufsicht@lra-sok.example>")
	sink := &slowSink{}
	var conns []*sdktest.Conn
	for range 2 {
		ledger, err := notify.NewLedger(dir)
		if err != nil {
			t.Fatal(err)
		}
		n := &notify.Notifier{From: from, Templates: tpl, Transport: sink, Ledger: ledger}
		conns = append(conns, sdktest.Start(t, n.Plugin()))
	}
	outs := make([]notify.SendOutput, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := callWithKey("wf-9/4")
			c.Attempt = int32(i + 1)
			errs[i] = conn.CallWith(context.Background(), c, receipt("juergen@example.org"), &outs[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if sink.sent != 1 {
		t.Fatalf("two overlapping attempts of one call delivered %d messages, want 1", sink.sent)
	}
	if outs[0].Duplicate == outs[1].Duplicate || outs[0].MessageID != outs[1].MessageID {
		t.Fatalf("want one delivery and one duplicate of the same message: %+v / %+v", outs[0], outs[1])
	}
}
