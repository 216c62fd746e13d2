// Package datakeys holds the per-application data keys of
// crypto-shredding: each application's procedure events are published on
// Kafka encrypted (AES-256-GCM) under a data key of its own; the data key
// is stored in PostgreSQL wrapped (AES-256-GCM) by the master key
// (AMTSWEG_MASTER_KEY), which only the worker and the projector hold.
// Erasure destroys the wrapped key (store.EraseApplication), so the
// application's events on the topic can never be read again, however long
// the topic keeps them. See docs/records.md.
//
// Only the standard library's crypto/aes and crypto/cipher are used; keys
// and nonces come from crypto/rand.
package datakeys
