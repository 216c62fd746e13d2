package devstack_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/amtsweg/amtsweg/api"
	"github.com/amtsweg/amtsweg/events"
	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/devstack"
	"github.com/amtsweg/amtsweg/internal/e2e"
	"github.com/amtsweg/amtsweg/internal/kafkabus"
	"github.com/amtsweg/amtsweg/internal/stack"
	"github.com/amtsweg/amtsweg/workers/intake"
)

// costlyDefinition is the probe of #21.1: a decision with nested
// comprehensions over a list of the application.
const costlyDefinition = `apiVersion: amtsweg.de/v1
kind: Procedure
key: sicherheitsprobe
version: 1.0.0
title: {de: Sicherheitsprobe}
validFrom: 2025-01-01
calendar: DE-TH
applicationSchema:
  type: object
  properties:
    items: {type: array, items: {type: object, properties: {n: {type: number}}}}
milestones: [{id: m, title: {de: M}}]
start: d
steps:
  - id: d
    type: decision
    conditions:
      - when: application.items.exists(a, application.items.exists(b, application.items.exists(c, application.items.exists(d, application.items.exists(e, a.n + b.n + c.n + d.n + e.n < 0.0)))))
        next: done
    default: done
  - {id: done, type: end, milestone: m, outcome: ok}
`

// TestSecurityProbes replays the probes of docs/security.md (issues #17
// and #21) against the running stack.
func TestSecurityProbes(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := devstack.Start(ctx, devstack.Options{
		DataDir: e2e.DataDir(t), APIAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0", Executable: exe,
		VersionsValidOn: e2e.VersionsDay,
		// A short read timeout, so that the slow-body probe ends soon.
		Configure: func(c *stack.Config) { c.HTTP.ReadTimeout = 2 * time.Second },
	})
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	defer d.Stop()
	addr := strings.TrimPrefix(d.APIURL, "http://")

	t.Run("a request body that never comes is cut off", func(t *testing.T) {
		// #21.4: Content-Length announced, no body sent.
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /status HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n", addr)
		// Not a performance bound: without a read timeout the server
		// keeps the connection for ever, and this deadline ends the read.
		_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		_, err = io.Copy(io.Discard, conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server kept a connection open whose body never came")
		}
	})

	t.Run("oversized references are refused before the handler", func(t *testing.T) {
		// #21.2: a 600 KB reference exceeds the header limit (64 KiB).
		status, _ := getStatus(t, d.APIURL, strings.Repeat("A", 600<<10), "CODE", "")
		if status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("600 KB reference: %d, want 431", status)
		}
	})

	t.Run("security headers on pages and the API", func(t *testing.T) {
		for _, path := range []string{"/", "/status", "/api/v1/status/BA-1"} {
			res, err := http.Get(d.APIURL + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			h := res.Header
			if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Content-Type-Options") != "nosniff" ||
				h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("%s: headers %v", path, h)
			}
		}
	})

	t.Run("every form post needs the CSRF token and this site", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		post := func(path string, form url.Values, headers ...string) (int, []*http.Cookie) {
			req, _ := http.NewRequest(http.MethodPost, d.APIURL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for i := 0; i+1 < len(headers); i += 2 {
				req.Header.Set(headers[i], headers[i+1])
			}
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode, res.Cookies()
		}
		page := func(path string) string {
			res, err := c.Get(d.APIURL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return string(b)
		}
		csrfOf := func(html string) string {
			m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(html)
			if m == nil {
				t.Fatalf("no CSRF field in the page: %.300s", html)
			}
			return m[1]
		}
		login := url.Values{"subject": {"olga"}, "name": {"Olga"}, "tenant": {"stadt-erfurt"}, "roles": {"operator"}, "next": {"/operator"}}
		if code, _ := post("/inbox/login", login); code != http.StatusForbidden {
			t.Errorf("sign-in without the form's token: %d, want 403", code)
		}
		login.Set("csrf", csrfOf(page("/inbox/login")))
		if code, _ := post("/inbox/login", login, "Origin", "http://evil.example"); code != http.StatusForbidden {
			t.Errorf("sign-in posted from another site: %d, want 403", code)
		}
		code, cookies := post("/inbox/login", login)
		if code != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", code)
		}
		for _, ck := range cookies {
			if ck.Name == "amtsweg_session" && (ck.SameSite != http.SameSiteStrictMode || !ck.HttpOnly) {
				t.Errorf("session cookie %+v, want SameSite=Strict and HttpOnly", ck)
			}
		}
		token := csrfOf(page("/operator"))
		if code, _ := post("/operator/applications/AP-2026-X/cancel", url.Values{}); code != http.StatusForbidden {
			t.Errorf("operator action without the token: %d, want 403", code)
		}
		if code, _ := post("/operator/applications/AP-2026-X/cancel", url.Values{"csrf": {token}}, "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden {
			t.Errorf("operator action from another site: %d, want 403", code)
		}
		if code, _ := post("/inbox/logout", url.Values{"csrf": {token}}); code != http.StatusSeeOther {
			t.Errorf("sign-out with the token: %d, want 303", code)
		}
	})

	t.Run("a costly expression is refused at deploy with its position", func(t *testing.T) {
		// #21.1: it deployed (201) and then jammed the procedure.
		tok, err := d.Issuer.Mint(auth.Principal{Subject: "dana", Tenant: "tlvwa", Roles: []string{"designer"}}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		out, err := (&api.DefinitionsClient{BaseURL: d.APIURL, Token: tok}).Deploy(ctx, "probe.yaml", []byte(costlyDefinition))
		if err != nil {
			t.Fatal(err)
		}
		if !out.Refused || len(out.Problems) != 1 || out.Problems[0].Line != 18 || out.Problems[0].Column != 15 ||
			!strings.Contains(out.Problems[0].Message, "may cost up to") {
			t.Fatalf("deploy of the costly expression: %+v", out)
		}
	})

	t.Run("oversized applications go to the DLQ and the intake goes on", func(t *testing.T) {
		// #21.5: a 900 KB street was accepted into the workflow history.
		big := intake.Submission{Procedure: "anwohnerparken", Tenant: "stadt-erfurt", Reference: "AP-2026-GROSS",
			Payload: []byte(`{"zone":"A3","licensePlate":"EF-EM 2026","street":"` + strings.Repeat("x", 900<<10) + `","keeperIsApplicant":true}`)}
		w := kafkabus.NewWriter(d.Brokers, events.TopicIntake)
		defer w.Close()
		// amtsweg submit refuses it and says why.
		if _, err := intake.Submit(ctx, w, big, time.Now()); !errors.Is(err, intake.ErrInvalidSubmission) || !strings.Contains(err.Error(), "limit") {
			t.Errorf("submit of a 900 KB application: %v", err)
		}
		// A portal that sends it anyway: the broker takes it, the intake
		// does not.
		env, err := events.Encode("probe-1", "urn:probe", events.TypeApplicationSubmitted, big.Reference, time.Now(), events.ApplicationSubmitted{
			Procedure: big.Procedure, Tenant: big.Tenant, AccessCodeSHA256: events.HashAccessCode("ABCD-EFGH-JKLM"), Payload: big.Payload})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteMessages(ctx, kafkaMessage(big.Reference, env)); err != nil {
			t.Fatalf("write the oversized message: %v", err)
		}
		// A 5 MB message is more than the broker takes: the writer waits
		// for the acknowledgement and reports the refusal.
		if err := w.WriteMessages(ctx, kafkaMessage("AP-2026-RIESIG", make([]byte, 5<<20))); err == nil {
			t.Error("a 5 MB message was reported as written")
		}
		rc := e2e.Submit(t, d.Brokers, e2e.ReadSubmission(t, "../../examples/anwohnerparken.json"))
		dls := readDeadLetters(t, d.Brokers, events.DLQ(events.TopicIntake), 1)
		if !strings.Contains(dls[0].Reason, "exceeds the intake's limit") || !dls[0].ValueOmitted || dls[0].ValueSize != len(env) {
			t.Errorf("dead letter: reason %q, omitted %v, size %d", dls[0].Reason, dls[0].ValueOmitted, dls[0].ValueSize)
		}
		waitStatus(t, d.APIURL, rc.Reference, rc.AccessCode, func(statusDoc) bool { return true })

		t.Run("a guesser does not lock the citizen out", func(t *testing.T) {
			// #21.3: five wrong codes from one address (127.0.0.2) used
			// to refuse the correct code for everyone for 5 minutes.
			guesser, citizen := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")
			for i := range 5 {
				if code := statusFrom(t, guesser, d.APIURL, rc.Reference, "WRNG-WRNG-WRNG"); code != http.StatusNotFound {
					t.Fatalf("guess %d: %d", i, code)
				}
			}
			if code := statusFrom(t, guesser, d.APIURL, rc.Reference, rc.AccessCode); code != http.StatusTooManyRequests {
				t.Errorf("the guesser's sixth attempt: %d, want 429", code)
			}
			if code := statusFrom(t, citizen, d.APIURL, rc.Reference, rc.AccessCode); code != http.StatusOK {
				t.Errorf("the citizen after the guesser: %d, want 200", code)
			}
		})
	})
}

func kafkaMessage(key string, value []byte) kafka.Message {
	return kafka.Message{Key: []byte(key), Value: value}
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip, a client address of its own for the rate limits.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}, Timeout: 30 * time.Second}
}

func statusFrom(t *testing.T, c *http.Client, base, ref, code string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/status/"+ref, nil)
	req.Header.Set("X-Access-Code", code)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, bufio.NewReader(res.Body))
	return res.StatusCode
}
