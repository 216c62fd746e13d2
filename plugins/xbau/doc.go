// Package xbau is the bundled "xbau" plugin: it builds XBau-style XML
// messages of the building-permit procedure (receipt confirmation, request
// for missing documents, participation request to an authority, decision)
// and validates each against the XSD kept in schema/xbau-subset.xsd before
// returning it. Validation uses the pure-Go checker in xbau/xsd, which
// implements exactly the XSD subset the schema uses (no cgo, no libxml2).
//
// The messages follow XBau's structure (a message header with id, type,
// time, author and reader, then the procedure's file reference) in
// Amtsweg's own namespace urn:amtsweg:xbau-subset:1; they are not the
// official XBau schema.
//
// Configuration: AMTSWEG_XBAU_AUTHORITY_ID and AMTSWEG_XBAU_AUTHORITY_NAME
// give the authoring authority when a call does not name one.
package xbau
