// Package notify is the bundled "notify" plugin: it sends messages to
// citizens and clerks by e-mail, rendered from per-language text/template
// files (templates/<lang>/<name>.tmpl, each defining "subject" and "body").
//
// Messages go out through SMTP (github.com/emersion/go-smtp, STARTTLS or
// implicit TLS, optional AUTH PLAIN) or, in development, into a file sink
// that writes one .eml file per message. Sending is idempotent per
// idempotency key: a ledger (one file per key) records every sent message,
// and a retried call returns the recorded result without sending again.
// Work on one key is locked across the processes that share the ledger
// directory (an advisory flock under <ledger>/.locks, which the shared
// volume must support), so attempts of one call on two worker replicas do
// not both send. One window remains: a worker killed after the SMTP server
// accepted a message and before the ledger recorded it sends it again on
// retry, with the same Message-ID (derived from the key) so that receivers
// can drop the duplicate; the file sink delivers each Message-ID once.
//
// Configuration (environment):
//
//	AMTSWEG_NOTIFY_TRANSPORT   smtp | file (required)
//	AMTSWEG_NOTIFY_FROM        sender, e.g. "Bauaufsicht <bauaufsicht@lra.example>" (required)
//	AMTSWEG_NOTIFY_OUTBOX      file sink directory (default $AMTSWEG_DATA_DIR/outbox)
//	AMTSWEG_NOTIFY_LEDGER      ledger directory (default $AMTSWEG_DATA_DIR/ledger)
//	AMTSWEG_NOTIFY_TEMPLATES   template directory replacing the embedded templates
//	AMTSWEG_SMTP_ADDR          host:port of the SMTP server (smtp transport)
//	AMTSWEG_SMTP_SECURITY      starttls (default) | tls | none
//	AMTSWEG_SMTP_USERNAME      user for AUTH PLAIN (optional)
//	AMTSWEG_SMTP_PASSWORD      its password, or AMTSWEG_SMTP_PASSWORD_FILE naming a secret file
//	AMTSWEG_SMTP_CA_FILE       PEM file of the CA that signed the server's certificate (optional)
//	AMTSWEG_SMTP_TIMEOUT       timeout of one delivery (default 60s)
package notify
