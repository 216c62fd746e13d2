package fees_test

import (
	"fmt"

	"github.com/amtsweg/amtsweg/plugins/fees"
)

func ExampleSchedule_Compute() {
	s, err := fees.ParseSchedule([]byte(`
id: example-2025
title: Beispiel
legalBasis: Beispielgebührenordnung
validFrom: "2025-01-01"
currency: EUR
rounding: cent
procedures:
  simplified: {tarif: "1.2", title: Vereinfachtes Verfahren, rate: "6", minimum: "100.00", maximum: "450000.00"}
items:
  exemption: {tarif: "1.5", title: Abweichung je Entscheidung, perUnit: "150.00"}
`))
	if err != nil {
		panic(err)
	}
	fee, err := s.Compute(fees.Input{ProcedureType: "simplified", BuildingCosts: 185000, Exemptions: 1})
	if err != nil {
		panic(err)
	}
	for _, it := range fee.Items {
		fmt.Printf("%-4s %-30s %8.2f\n", it.Tarif, it.Title, it.Amount)
	}
	fmt.Printf("total %.2f %s\n", fee.Amount, fee.Currency)
	// Output:
	// 1.2  Vereinfachtes Verfahren         1110.00
	// 1.5  Abweichung je Entscheidung       150.00
	// total 1260.00 EUR
}
