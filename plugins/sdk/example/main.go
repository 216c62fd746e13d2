// Command example is an Amtsweg plugin built with the SDK: a "greeting"
// plugin whose one activity, greeting.greet, greets an applicant in German
// or English. It shows the shape of every plugin: a main that calls
// sdk.Serve, typed handlers, schemas derived from the types, and a final
// error for input that can never succeed.
//
// Build it and drop the binary into the worker's plugin directory:
//
//	go build -o /var/lib/amtsweg/plugins/greeting ./plugins/sdk/example
package main

import (
	"context"
	"strings"

	"github.com/amtsweg/amtsweg/plugins/sdk"
)

// GreetInput is the input of greeting.greet.
type GreetInput struct {
	Name     string `json:"name" jsonschema:"description=Name of the person to greet,minLength=1"`
	Language string `json:"language,omitempty" jsonschema:"description=Language of the greeting (default de),enum=de,enum=en"`
	Formal   bool   `json:"formal,omitempty" jsonschema:"description=Use the formal address"`
}

// GreetOutput is the output of greeting.greet.
type GreetOutput struct {
	Text     string `json:"text"`
	Language string `json:"language"`
}

// Plugin returns the greeting plugin.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:    "greeting",
		Version: "1.0.0",
		Activities: []sdk.Activity{
			sdk.Typed("greet", "Greets a person in German or English", greet),
		},
	}
}

func greet(_ context.Context, call sdk.CallInfo, in GreetInput) (GreetOutput, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" {
		// The schema requires a non-empty string, but "   " passes it:
		// a final error, since retrying cannot make the name appear.
		return GreetOutput{}, sdk.Finalf("name is blank; pass the applicant's name")
	}
	lang := in.Language
	if lang == "" {
		lang = "de"
	}
	var text string
	switch {
	case lang == "en":
		text = "Hello, " + name + "!"
	case in.Formal:
		text = "Guten Tag, " + name + "!"
	default:
		text = "Hallo, " + name + "!"
	}
	call.Logger.Info("greeted", "language", lang)
	return GreetOutput{Text: text, Language: lang}, nil
}

func main() { sdk.Serve(Plugin()) }
