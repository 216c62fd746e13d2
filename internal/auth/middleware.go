package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// realm is the protection space named in challenges.
const realm = "amtsweg"

// Middleware requires "Authorization: Bearer <jwt>" on every request,
// verifies the token and serves next with the Principal in the request
// context (FromContext). Otherwise it answers 401 with
// WWW-Authenticate: Bearer realm="amtsweg", error="invalid_token",
// error_description="..." and the JSON body
// {"error":"invalid_token","error_description":"..."}; or 503 when the
// provider cannot be reached.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, desc := bearerToken(r)
		if desc != "" {
			v.log.Debug("auth: request rejected", "path", r.URL.Path, "reason", desc)
			writeChallenge(w, http.StatusUnauthorized, "invalid_token", desc)
			return
		}
		p, err := v.Verify(r.Context(), raw)
		if err != nil {
			var te *TokenError
			switch {
			case errors.As(err, &te):
				v.log.Debug("auth: token rejected", "path", r.URL.Path, "reason", te.Description)
				writeChallenge(w, http.StatusUnauthorized, "invalid_token", te.Description)
			default:
				v.log.Warn("auth: cannot verify token", "path", r.URL.Path, "err", err)
				w.Header().Set("Retry-After", "5")
				writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable",
					"cannot verify the token now: the identity provider is unavailable; try again later")
			}
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
	})
}

// RequireRole returns middleware that lets a request through only if its
// principal (put there by Middleware) has at least one of roles. It answers
// 403 with error "insufficient_scope" otherwise, and 401 if the request was
// not authenticated at all.
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				writeChallenge(w, http.StatusUnauthorized, "invalid_token", "request is not authenticated")
				return
			}
			for _, role := range roles {
				if p.HasRole(role) {
					next.ServeHTTP(w, r)
					return
				}
			}
			writeChallenge(w, http.StatusForbidden, "insufficient_scope",
				fmt.Sprintf("requires one of the roles %s; %s has %s", strings.Join(roles, ", "), p.Subject, rolesText(p.Roles)))
		})
	}
}

func rolesText(roles []string) string {
	if len(roles) == 0 {
		return "no roles"
	}
	return strings.Join(roles, ", ")
}

// bearerToken extracts the token of an "Authorization: Bearer" header, or
// says what is wrong with the header.
func bearerToken(r *http.Request) (token, problem string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", "missing Authorization header: send Authorization: Bearer <token>"
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", "Authorization header must use the Bearer scheme: Authorization: Bearer <token>"
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", "empty bearer token"
	}
	return tok, ""
}

func writeChallenge(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error=%q, error_description="%s"`, realm, code, headerSafe(desc)))
	writeError(w, status, code, desc)
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, desc})
}

// headerSafe keeps desc within the characters RFC 6750 allows in
// error_description (printable ASCII without '"' and '\').
func headerSafe(desc string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\\':
			return '/'
		case r < 0x20 || r > 0x7e:
			return '?'
		}
		return r
	}, desc)
}
