//go:build dev

package main

import (
	"github.com/spf13/cobra"

	"github.com/amtsweg/amtsweg/internal/cli/devcmd"
)

// devCommands are the dev build's extra commands: dev and bench.
func devCommands() []*cobra.Command { return devcmd.Commands() }
