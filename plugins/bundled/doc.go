// Package bundled lists the plugins compiled into the amtsweg binary and
// serves one of them when the binary runs as "amtsweg plugin serve <name>".
// The host starts each bundled plugin that way, as its own process over the
// same go-plugin protocol as third-party plugins, so bundled plugins need no
// separate build.
package bundled
