// Package web serves Amtsweg's HTML pages from the API server's own
// binary: server-rendered html/template pages with one small stylesheet and
// htmx (vendored, assets/htmx.min.js) for live updates, no front-end build
// and no separate server. Every page works without JavaScript.
//
// Pages (German first; ?lang=en switches to English and a cookie keeps the
// choice):
//
//	GET  /                                  start page linking the four areas
//	GET  /status, POST /status              citizens: status by reference and access code
//	GET  /inbox/login, POST /inbox/login    sign-in (dev: token from the dev issuer)
//	GET  /inbox/callback                    OIDC authorization-code callback (production)
//	POST /inbox/logout                      sign-out
//	GET  /inbox                             clerks: worklist (filters role, status, mine)
//	GET  /inbox/worklist                    worklist fragment for htmx polling (204 when unchanged)
//	GET  /inbox/tasks/{id}                  task: application data, e-file, form, actions
//	GET  /inbox/tasks/{id}/live             task change notice for htmx polling (204 when unchanged)
//	GET  /inbox/tasks/{id}/documents/{doc}  an e-file document (hash-checked)
//	POST /inbox/tasks/{id}/{claim|release|delegate|complete}
//	GET  /designer                          designers: deployed definitions with instance counts
//	GET  /designer/definitions/{key}/{version}  a version: diagram (inline SVG) and source
//	GET  /designer/upload, POST /designer/upload  upload a YAML definition: check, then deploy
//	POST /designer/deploy                   deploy a checked definition
//	GET  /operator                          operators: applications by status, open incidents
//	POST /operator/applications/{ref}/{retry|cancel}
//	GET  /assets/...                        stylesheet and htmx
//
// The status page reuses the status API's access check (api.Server.LookupStatus):
// constant-time comparison of the access code's hash, the same answer for an
// unknown reference and a wrong code, and the same per-reference and
// per-client limits of failed attempts. The access code travels only in the
// POST body, never in a URL.
//
// Authentication: the session cookie (HttpOnly, SameSite=Strict, Secure over
// TLS) holds the OIDC token; every request verifies it with auth.Verifier,
// so a session ends when the token expires. In development the sign-in page
// mints the token with the dev issuer (auth/devissuer) for a chosen user,
// authority and roles; it exists only when the dev issuer is configured. In
// production the sign-in is the OIDC authorization-code flow with PKCE
// against the configured issuer (Config.OIDC). POST forms carry a
// per-session CSRF token (an HMAC of the session token) on top of the
// SameSite=Strict cookie.
//
// Roles: /inbox needs a signed-in user of the authority (tasks are scoped
// to the token's tenant and, by default, its roles); /designer needs the
// role "designer", /operator the role "operator".
package web
