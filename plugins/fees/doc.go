// Package fees is the bundled "fees" plugin: it computes the fee of a
// building-permit procedure from a fee schedule data file (see
// schedule/thueringen.yaml). The schedule holds every number; this package
// holds only the arithmetic: a per-mille rate of the building costs per
// procedure type, bounded by minimum and maximum, plus line items, in exact
// decimal arithmetic rounded half up.
//
// Configuration: AMTSWEG_FEES_SCHEDULE names a YAML or JSON schedule file
// to use instead of the embedded one.
package fees
