//go:build !dev

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// devCommands tells whoever asks the production binary for dev or bench how
// to get the dev build, instead of cobra's "unknown command".
func devCommands() []*cobra.Command {
	missing := func(name string) *cobra.Command {
		return &cobra.Command{
			Use:                name,
			Short:              "Only in the dev build: go run -tags dev ./cmd/amtsweg " + name,
			Hidden:             true,
			DisableFlagParsing: true,
			RunE: func(*cobra.Command, []string) error {
				return errors.New(name + " is part of the dev build only, which links the embedded servers: " +
					"run go run -tags dev ./cmd/amtsweg " + name + " (or go build -tags dev ./cmd/amtsweg)")
			},
		}
	}
	return []*cobra.Command{missing("dev"), missing("bench")}
}
