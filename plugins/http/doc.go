// Package httpadapter is the bundled "http" plugin: a generic adapter to
// the REST endpoints of specialist systems (Fachverfahren). Each endpoint
// in its configuration file becomes one activity "http.<endpoint name>"
// with its own input and output schema.
//
// An endpoint says method, URL (with {field} placeholders filled from the
// input), query, headers, timeout, how the JSON request body is built from
// the input and how the output is taken from the JSON response (both as
// JSON Pointer mappings). Values may reference secrets: ${env:NAME} (or
// ${NAME}) reads an environment variable, ${file:/path} a secret file;
// they are resolved at start (a missing secret fails the plugin's start)
// and again at every call (so a rotated secret file takes effect).
//
// Every request carries Idempotency-Key (the call's idempotency key) and
// X-Amtsweg-Reference. Responses 2xx succeed; 408, 425, 429 and 5xx (or the
// endpoint's retryOn list) and network errors are retryable; other
// statuses are final.
//
// Configuration: AMTSWEG_HTTP_CONFIG names the YAML configuration file.
// Without it the plugin loads with no activities.
package httpadapter
