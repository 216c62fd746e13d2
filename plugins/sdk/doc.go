// Package sdk lets a plugin author write an Amtsweg plugin as an ordinary
// main package with typed handlers:
//
//	func main() {
//		sdk.Serve(sdk.Plugin{
//			Name:    "fees",
//			Version: "1.0.0",
//			Activities: []sdk.Activity{
//				sdk.Typed("compute", "Computes the building-permit fee", compute),
//			},
//		})
//	}
//
//	func compute(ctx context.Context, call sdk.CallInfo, in Input) (Output, error) { ... }
//
// The input and output JSON Schemas are derived from the handler's types
// (github.com/invopop/jsonschema: `json` tags name the fields, fields without
// omitempty are required, `jsonschema:"..."` tags add descriptions, enums and
// bounds) or set explicitly on the Activity. Inputs are validated against
// the schema before the handler runs and outputs after it returns.
//
// A handler reports failures with Final (trying again cannot help: invalid
// data, a rejected request) or Retryable (a remote system is down). Other
// errors are treated as retryable; a panic is a final error.
//
// Serve runs the plugin as a go-plugin gRPC server; InProcess serves the
// same plugin inside the host process; package sdktest runs it in-process
// over real gRPC for unit tests.
package sdk
