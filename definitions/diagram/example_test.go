package diagram_test

import (
	"fmt"
	"strings"

	"github.com/amtsweg/amtsweg/definitions"
	"github.com/amtsweg/amtsweg/definitions/diagram"
)

func ExampleMermaid() {
	p := &definitions.Procedure{
		Key: "beispiel", Version: "1.0.0", Title: definitions.Text{De: "Beispiel"}, Start: "pruefen",
		Roles: []definitions.Role{{ID: "sb"}},
		Steps: []definitions.Step{
			{ID: "pruefen", Type: definitions.StepTask, Title: definitions.Text{De: "Prüfen"}, Role: "sb", Due: "P2W", Next: "fertig"},
			{ID: "fertig", Type: definitions.StepEnd, Outcome: "done"},
		},
	}
	for _, line := range strings.Split(diagram.Mermaid(p), "\n") {
		if strings.Contains(line, "-->") || strings.Contains(line, "Prüfen") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// n3("<small>Aufgabe</small><br/><b>Prüfen</b><br/>Rolle: sb<br/>⏱ Frist: P2W")
	// n2 --> n3
	// n3 --> n4
}
