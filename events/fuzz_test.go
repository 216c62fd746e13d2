package events_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/amtsweg/amtsweg/events"
)

var lowerHex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// FuzzAccessCode: whatever a citizen types as access code (it arrives in
// the X-Access-Code header or the status form), canonicalising and hashing
// never panic; the canonical form has no hyphens or spaces and is stable;
// the hash is 64 lowercase hex digits; and for codes in ASCII, case,
// hyphens and spaces do not change the hash ("abcd-efgh" as typed matches
// "ABCDEFGH" as printed).
func FuzzAccessCode(f *testing.F) {
	for _, s := range []string{"ABCD-EFGH-JKMN", "abcd efgh jkmn", " a-b ", "", "----", "ß", "ǅ", "\u00a0X\u2003", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		c := events.CanonicalAccessCode(code)
		if strings.ContainsFunc(c, func(r rune) bool { return r == '-' || unicode.IsSpace(r) }) {
			t.Fatalf("canonical %q of %q keeps a hyphen or space", c, code)
		}
		if again := events.CanonicalAccessCode(c); again != c {
			t.Fatalf("canonical form is not stable: %q -> %q -> %q", code, c, again)
		}
		h := events.HashAccessCode(code)
		if !lowerHex64.MatchString(h) {
			t.Fatalf("hash %q of %q is not 64 lowercase hex digits", h, code)
		}
		if h != events.HashAccessCode(c) {
			t.Fatalf("hash of %q differs from the hash of its canonical form %q", code, c)
		}
		ascii := true
		for i := 0; i < len(code); i++ {
			if code[i] >= 0x80 {
				ascii = false
				break
			}
		}
		if ascii {
			var typed strings.Builder
			for i, r := range strings.ToLower(code) {
				if i > 0 && i%4 == 0 {
					typed.WriteString("- ")
				}
				typed.WriteRune(r)
			}
			if events.HashAccessCode(typed.String()) != h {
				t.Fatalf("%q typed as %q hashes differently", code, typed.String())
			}
		}
	})
}

// FuzzValidateReference: references come from the portal and from URLs;
// an accepted one is safe in a URL path and a workflow id, and a refused
// one is explained.
func FuzzValidateReference(f *testing.F) {
	for _, s := range []string{"BAUANTRAG-2026-K3QX7MZP2D4A", "a", "", "../x", "-a", "a/b", strings.Repeat("A", 65), "Ä1", "A\x00"} {
		f.Add(s)
	}
	safe := regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	f.Fuzz(func(t *testing.T, ref string) {
		err := events.ValidateReference(ref)
		if err != nil {
			if !strings.Contains(err.Error(), "reference") || !strings.Contains(err.Error(), "use 1 to 64 characters") {
				t.Fatalf("unclear error for %q: %v", ref, err)
			}
			return
		}
		if len(ref) == 0 || len(ref) > 64 || !safe.MatchString(ref) || ref[0] == '.' || ref[0] == '-' || ref[0] == '_' {
			t.Fatalf("accepted unsafe reference %q", ref)
		}
	})
}
