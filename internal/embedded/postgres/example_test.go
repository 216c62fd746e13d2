package postgres_test

import (
	"context"
	"fmt"
	"os"

	"github.com/amtsweg/amtsweg/internal/embedded/postgres"
)

// Using DATABASE_URL when it is set, a private cluster otherwise.
func ExampleResolve() {
	url, srv, err := postgres.Resolve(context.Background(), os.Getenv("DATABASE_URL"), postgres.Options{
		DataDir: "/var/lib/amtsweg/postgres",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if srv != nil {
		defer srv.Stop()
	}
	fmt.Println("database:", url)
}
