// Package melderegister is the bundled "melderegister" plugin: it answers
// whether a person is registered in the population register
// (Melderegister) of a municipality with a residence at an address, and of
// which kind (Hauptwohnung or Nebenwohnung, §§ 21, 22 BMG). Procedures use
// it for residence checks, e.g. the resident parking permit (only a
// resident of the parking zone gets one).
//
// The register is a data file: an extract of the municipality's register
// with the entries the authority may look up (legal basis of the
// transmission to another public body: § 34 BMG, not verified here). The
// embedded register/erfurt-muster.yaml holds fictional people for
// development and tests; AMTSWEG_MELDEREGISTER_DATA names the authority's
// own extract. Connecting the live register (XMeld over OSCI) is not part
// of this plugin: an authority with such an interface offers it through the
// http plugin or its own plugin with the same activity.
package melderegister
