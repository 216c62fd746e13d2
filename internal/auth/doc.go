// Package auth authenticates clerks and process designers: it verifies the
// bearer JWTs their OpenID Connect provider issues and turns them into a
// Principal (subject, name, tenant, roles) in the request context.
//
// Signatures are checked with github.com/coreos/go-oidc/v3 against the
// provider's published keys (JWKS), found by OIDC discovery from the issuer
// URL or configured directly for providers without discovery. Discovery is
// lazy and retried, so a server can start before its provider answers
// (including the development issuer of package auth/devissuer that the same
// server serves): the development path goes through exactly the same
// discovery, JWKS and verification code as production.
//
// Requests without a valid token get 401 with an RFC 6750 challenge
// (WWW-Authenticate: Bearer error="invalid_token", error_description="...")
// and a JSON body {"error": "invalid_token", "error_description": "..."}.
// When the provider cannot be reached to fetch keys, the answer is 503: the
// token is not at fault.
package auth
