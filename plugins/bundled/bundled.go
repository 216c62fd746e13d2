package bundled

import (
	"fmt"
	"sort"
	"strings"

	"github.com/amtsweg/amtsweg/plugins/efile"
	"github.com/amtsweg/amtsweg/plugins/fees"
	httpadapter "github.com/amtsweg/amtsweg/plugins/http"
	"github.com/amtsweg/amtsweg/plugins/melderegister"
	"github.com/amtsweg/amtsweg/plugins/notify"
	"github.com/amtsweg/amtsweg/plugins/sdk"
	"github.com/amtsweg/amtsweg/plugins/xbau"
)

// constructors build each bundled plugin from its environment
// configuration (see plugins/README.md).
var constructors = map[string]func() (sdk.Plugin, error){
	"efile":         efile.Plugin,
	"fees":          fees.Plugin,
	"http":          httpadapter.Plugin,
	"melderegister": melderegister.Plugin,
	"notify":        notify.Plugin,
	"xbau":          xbau.Plugin,
}

// Names lists the bundled plugins, sorted.
func Names() []string {
	out := make([]string, 0, len(constructors))
	for n := range constructors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Plugin builds the bundled plugin name from the environment.
func Plugin(name string) (sdk.Plugin, error) {
	c, ok := constructors[name]
	if !ok {
		return sdk.Plugin{}, fmt.Errorf("no bundled plugin %q; bundled plugins are %s", name, strings.Join(Names(), ", "))
	}
	p, err := c()
	if err != nil {
		return sdk.Plugin{}, fmt.Errorf("plugin %s: %w", name, err)
	}
	return p, nil
}

// Serve serves the bundled plugin name as a plugin process. It returns
// only on failure to build the plugin; serving itself ends the process.
func Serve(name string) error {
	p, err := Plugin(name)
	if err != nil {
		return err
	}
	sdk.Serve(p)
	return nil
}
