// Package efile is the bundled "efile" plugin: the electronic case file
// (E-Akte) of each application, kept in a directory. Documents and
// generated letters are addressed by the application's reference number and
// a document id, stored immutably with their SHA-256 content hash, and
// checked against that hash whenever they are read.
//
// Layout: <dir>/<reference>/<documentId>/{content,meta.json}.
//
// Configuration: AMTSWEG_EFILE_DIR, or else AMTSWEG_DATA_DIR (which the
// host sets per plugin), is the store's directory.
package efile
