// Command multicall stands in for the amtsweg binary in tests: it serves a
// bundled plugin when run as "multicall plugin serve NAME", as amtsweg does.
package main

import (
	"fmt"
	"os"

	"github.com/amtsweg/amtsweg/plugins/bundled"
)

func main() {
	if len(os.Args) != 4 || os.Args[1] != "plugin" || os.Args[2] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: multicall plugin serve NAME")
		os.Exit(2)
	}
	if err := bundled.Serve(os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "amtsweg:", err)
		os.Exit(1)
	}
}
