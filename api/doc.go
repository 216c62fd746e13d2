// Package api is Amtsweg's HTTP API server: health and metrics for
// operators, and the citizen's status API. Other route groups (clerks'
// tasks, designers' definitions, pages) are added by their owners with
// Server.Handle on the same server.
//
// Routes:
//
//	GET /healthz                         200 when ready, 503 with the reason
//	GET /metrics                         Prometheus metrics, only with
//	                                     Config.PublicMetrics (amtsweg dev);
//	                                     in production on a listener of its
//	                                     own (MetricsHandler)
//	GET /api/v1/status/{reference}       the application's public status;
//	                                     header X-Access-Code: the citizen's
//	                                     code; failed lookups are limited per
//	                                     reference and client, per client and
//	                                     per reference (Config)
//
// Every answer carries X-Content-Type-Options, Referrer-Policy,
// Content-Security-Policy (frame-ancestors 'none') and X-Frame-Options;
// over TLS also Strict-Transport-Security. See docs/security.md.
//
// Designers' procedure definitions (served with Config.Deployer and
// Config.Verifier; every route needs a bearer token):
//
//	POST /api/v1/definitions             deploy one YAML definition (body as
//	                                     application/yaml, or multipart part
//	                                     "file"); role "designer". 201 created,
//	                                     200 identical content (a no-op), 409
//	                                     the version exists with other content
//	                                     (the hint names the next free
//	                                     versions), 422 invalid: {"errors":
//	                                     [{file, line, column, path, message,
//	                                     fix}]}, naming e.g. a plugin activity
//	                                     no worker offers
//	GET  /api/v1/definitions[?key=K]     deployed versions, newest first, with
//	                                     instance counts (total, running) and
//	                                     the version new applications take
//	GET  /api/v1/definitions/{key}/{version}
//	                                     model and YAML source (only the source
//	                                     with Accept: application/yaml)
//	GET  /api/v1/definitions/{key}/{version}/diagram
//	                                     format=svg (default, image/svg+xml) or
//	                                     mermaid (text/plain); lang=de|en
//
// Reading definitions needs a valid token but no role: definitions are not
// tenant-specific, and the instance counts are totals over all
// authorities, without references or personal data.
//
// The status API shows an application only to whoever knows its access
// code. Only the code's SHA-256 is stored; the comparison runs in constant
// time, and a wrong code and an unknown reference get the same 404 answer
// after the same work (an unknown reference is compared against a dummy
// hash). Failed attempts are rate-limited per reference and per client
// address (IPv6 per /64): past the limit the answer is 429 with
// Retry-After, before any lookup. Status answers are never cached
// (Cache-Control: no-store). Texts come in the language the client asks
// for with Accept-Language (German, the default, or English), or with the
// query parameter lang=de|en.
//
// The status body is built by PostgreSQL in one statement
// (store.ApplicationStatusDocument): the document with its texts in the
// chosen language, passed through to the response as it comes, byte for
// byte what encoding/json made of StatusResponse before (times in UTC).
//
// Server.LookupStatus exposes that same check (limits, constant-time
// comparison, one answer for unknown reference and wrong code) to the
// citizen's status page (package web), so API and page share one set of
// limits.
//
// Errors are JSON: {"error": "what went wrong", "hint": "what to do"}.
package api
