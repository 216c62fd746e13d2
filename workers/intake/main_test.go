package intake_test

import (
	"testing"

	"github.com/amtsweg/amtsweg/embedded/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
