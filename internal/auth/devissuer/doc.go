// Package devissuer is a local OpenID Connect token issuer for development
// and tests: it keeps an RSA signing key in the data directory, serves the
// discovery document and key set (JWKS) a Verifier of package auth reads, and
// mints tokens for any principal.
//
// Its tokens are verified exactly like a production provider's: the
// Verifier discovers the dev issuer at <issuer>/.well-known/openid-configuration,
// fetches <issuer>/jwks.json and checks signature, issuer, audience and
// expiry. Only the way tokens are obtained differs (Mint, or
// `amtsweg token`, instead of a login).
//
// It has no authorization or token endpoint, and it must never be used in
// production: whoever can read the data directory can mint any identity.
package devissuer
