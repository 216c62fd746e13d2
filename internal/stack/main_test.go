package stack

import (
	"testing"

	"github.com/amtsweg/amtsweg/internal/embedded/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
