package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestLogFormat: auto is text on a terminal and JSON lines elsewhere;
// text and json are what they say whatever the output; others are refused
// with the accepted values.
func TestLogFormat(t *testing.T) {
	for _, c := range []struct {
		format string
		tty    bool
		json   bool
	}{
		{"auto", true, false},
		{"auto", false, true},
		{"", false, true},
		{"text", false, false},
		{"json", true, true},
		{"JSON", true, true},
	} {
		var buf bytes.Buffer
		log, err := newLogger(&buf, c.format, c.tty)
		if err != nil {
			t.Fatalf("%q: %v", c.format, err)
		}
		log.Info("ready", "api", "http://127.0.0.1:8080")
		gotJSON := strings.HasPrefix(buf.String(), "{")
		if gotJSON != c.json {
			t.Errorf("format %q tty=%v: %s, want json=%v", c.format, c.tty, buf.String(), c.json)
		}
		if !gotJSON && !strings.Contains(buf.String(), "msg=ready") {
			t.Errorf("format %q tty=%v: not slog text: %s", c.format, c.tty, buf.String())
		}
	}
	if _, err := newLogger(&bytes.Buffer{}, "yaml", true); err == nil || !strings.Contains(err.Error(), "auto, text or json") {
		t.Errorf("format yaml: %v, want an error naming auto, text or json", err)
	}
}
