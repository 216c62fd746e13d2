package definitions_test

import (
	"fmt"

	"github.com/amtsweg/amtsweg/definitions"
)

func ExampleLoad() {
	src := []byte(`apiVersion: amtsweg.de/v1
kind: Procedure
key: beispiel
version: 1.0.0
title: {de: Beispiel}
validFrom: 2025-01-01
calendar: DE-TH
applicationSchema: {type: object, properties: {name: {type: string}}}
roles: [{id: sachbearbeitung, title: {de: Sachbearbeitung}}]
milestones: [{id: eingang, title: {de: Eingegangen}}]
start: pruefen
steps:
  - id: pruefen
    type: task
    role: sachbearbeitung
    due: P2W
    next: entscheiden
  - id: entscheiden
    type: decision
    conditions:
      - when: application.nmae == "x"
        next: fertig
    default: fertg
  - id: fertig
    type: end
    outcome: done
`)
	_, err := definitions.Load("beispiel.yaml", src, definitions.ValidateOptions{})
	fmt.Println(err)
	// Output:
	// beispiel.yaml:21:26: steps[1].conditions[0].when: application has no field "nmae" (did you mean "name"?)
	// beispiel.yaml:23:14: steps[1].default: step "fertg" does not exist (did you mean "fertig"?)
}
