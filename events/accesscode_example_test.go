package events_test

import (
	"fmt"

	"github.com/amtsweg/amtsweg/events"
)

// The hash does not depend on how the citizen types the code.
func ExampleHashAccessCode() {
	fmt.Println(events.HashAccessCode("HVRM-47N7-KFA9"))
	fmt.Println(events.HashAccessCode("hvrm 47n7 kfa9") == events.HashAccessCode("HVRM-47N7-KFA9"))
	// Output:
	// deb3cad2900a5367ce2c0180224884888d21c206f808b8968c5eb8a93cd5a0c3
	// true
}
