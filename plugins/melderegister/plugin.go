package melderegister

import (
	"context"

	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// Version is the melderegister plugin's version.
const Version = "1.0.0"

// Plugin returns the melderegister plugin on the register from
// LoadRegister.
func Plugin() (sdk.Plugin, error) {
	r, err := LoadRegister()
	if err != nil {
		return sdk.Plugin{}, err
	}
	return New(r), nil
}

// New returns the melderegister plugin on register r. Its activity
// melderegister.residence takes a Query and returns an Answer.
func New(r *Register) sdk.Plugin {
	return sdk.Plugin{Name: "melderegister", Version: Version, Activities: []sdk.Activity{
		sdk.Typed("residence", "Answers whether a person is registered with a residence at an address on a day (Melderegister)",
			func(_ context.Context, call sdk.CallInfo, q Query) (Answer, error) {
				a, err := r.Lookup(q)
				if err != nil {
					return Answer{}, sdk.Final(err)
				}
				// The log names the reference, not the person.
				call.Logger.Info("register lookup", "reference", call.Reference, "registered", a.Registered, "kind", a.Kind)
				return a, nil
			}),
	}}
}
