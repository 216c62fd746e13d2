package temporal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/amtsweg/amtsweg/internal/embedded/temporal"
)

// Starting Temporal the way `amtsweg dev` does: persistent, on the usual
// port, with the Web UI.
func ExampleStart() {
	srv, err := temporal.Start(context.Background(), temporal.Options{
		DataDir: filepath.Join(os.Getenv("HOME"), ".amtsweg", "temporal"),
		Port:    7233,
		UIPort:  temporal.DefaultDevUIPort,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer srv.Stop()
	fmt.Println("Temporal at", srv.HostPort(), "namespace", temporal.DefaultNamespace, "- Web UI at", srv.UIURL())
}
