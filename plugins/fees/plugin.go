package fees

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// Version is the fees plugin's version (1.1.0: fees.resident-parking).
const Version = "1.1.0"

// Plugin returns the fees plugin with the schedule from LoadSchedule and,
// as fees.resident-parking, the resident-parking schedule from
// LoadParkingSchedule.
func Plugin() (sdk.Plugin, error) {
	s, err := LoadSchedule()
	if err != nil {
		return sdk.Plugin{}, err
	}
	ps, err := LoadParkingSchedule()
	if err != nil {
		return sdk.Plugin{}, err
	}
	p := New(s)
	p.Activities = append(p.Activities, ps.Activity())
	return p, nil
}

// New returns the fees plugin computing with schedule s. Its activity
// fees.compute takes Input and returns Fee; the input schema lists the
// schedule's procedure types.
func New(s *Schedule) sdk.Plugin {
	compute := sdk.Typed("compute", "Computes the fee of a building-permit procedure from the fee schedule",
		func(_ context.Context, _ sdk.CallInfo, in Input) (Fee, error) {
			fee, err := s.Compute(in)
			if err != nil {
				return Fee{}, sdk.Final(err)
			}
			return fee, nil
		})
	compute.Input = inputSchema(s)
	return sdk.Plugin{Name: "fees", Version: Version, Activities: []sdk.Activity{compute}}
}

func inputSchema(s *Schedule) json.RawMessage {
	schema := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"procedureType", "buildingCosts"},
		"properties": map[string]any{
			"procedureType": map[string]any{
				"description": fmt.Sprintf("Procedure type in fee schedule %s", s.ID),
				"enum":        s.ProcedureTypes(),
			},
			"buildingCosts":    map[string]any{"type": "number", "minimum": 0, "description": "Building costs in EUR"},
			"exemptions":       map[string]any{"type": "integer", "minimum": 0, "description": "Number of decisions on deviations, exceptions or exemptions"},
			"structuralReview": map[string]any{"type": "boolean", "description": "The authority reviews the structural documents"},
			"participations":   map[string]any{"type": "integer", "minimum": 0, "description": "Number of authorities and bodies participated"},
			"withdrawn":        map[string]any{"type": "boolean", "description": "The application was withdrawn or is deemed withdrawn before the decision: the schedule's withdrawal share is charged"},
		},
	}
	b, _ := json.Marshal(schema)
	return b
}
