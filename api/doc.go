// Package api is Amtsweg's HTTP API server: health and metrics for
// operators, and the citizen's status API. Other route groups (clerks'
// tasks, designers' definitions, pages) are added by their owners with
// Server.Handle on the same server.
//
// Routes:
//
//	GET /healthz                         200 when ready, 503 with the reason
//	GET /metrics                         Prometheus metrics
//	GET /api/v1/status/{reference}       the application's public status;
//	                                     header X-Access-Code: the citizen's code
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
// Errors are JSON: {"error": "what went wrong", "hint": "what to do"}.
package api
