package cli_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/amtsweg/amtsweg/internal/cli"
	"github.com/amtsweg/amtsweg/internal/cli/devcmd"
)

// envInHelp finds an environment variable named in a flag's help, as in
// "(KAFKA_BROKERS)" or "$AMTSWEG_TOKEN".
var envInHelp = regexp.MustCompile(`\$[A-Z][A-Z0-9_]+|\(([A-Z][A-Z0-9]*_[A-Z0-9_]+)\)`)

// TestEveryFlagMatchesTheSettingsTable walks every command of the dev
// build's tree (the production tree is a part of it) and checks each flag
// against cli.Settings: a flag with a setting's name is that setting (same
// variable, default and help, registered from the table); a flag that is
// no setting names no environment variable; a setting's retired name
// appears only as a deprecated alias; output formats are chosen with
// --format, never --json or -o.
func TestEveryFlagMatchesTheSettingsTable(t *testing.T) {
	// The defaults are the table's only with the variables unset.
	for _, s := range cli.Settings {
		t.Setenv(s.Env, "")
	}
	checkSettingsTable(t)

	retired := map[string]string{}
	for _, s := range cli.Settings {
		for _, r := range s.Retired {
			retired[r] = s.Flag
		}
	}
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			where := c.CommandPath() + " --" + f.Name
			if s, ok := cli.LookupSetting(f.Name); ok {
				seen[f.Name] = true
				if env := f.Annotations["amtsweg-setting-env"]; len(env) != 1 || env[0] != s.Env {
					t.Errorf("%s: not registered from cli.Settings (annotation %v): use cli.RegisterSetting", where, env)
				}
				if f.Usage != s.Usage() {
					t.Errorf("%s: help %q, the table says %q", where, f.Usage, s.Usage())
				}
				if f.DefValue != s.Default {
					t.Errorf("%s: default %q, the table says %q", where, f.DefValue, s.Default)
				}
				return
			}
			if to, ok := retired[f.Name]; ok && f.Deprecated == "" {
				t.Errorf("%s: a retired name of --%s; use --%s (keep the old name only as a deprecated alias)", where, to, to)
			}
			if f.Deprecated != "" {
				return
			}
			if m := envInHelp.FindString(f.Usage); m != "" {
				t.Errorf("%s: names the environment variable %s but is not in cli.Settings; add it to the table and register it with cli.RegisterSetting", where, m)
			}
			if f.Name == "json" || f.Name == "output-format" {
				t.Errorf("%s: output formats are chosen with --format text|json", where)
			}
			if f.Name == "output" && strings.Contains(f.Usage, "json") {
				t.Errorf("%s: -o/--output names an output file; the format is --format", where)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cli.New(devcmd.Commands()...))

	for _, s := range cli.Settings {
		if !seen[s.Flag] {
			t.Errorf("setting --%s (%s) is in the table but no command takes it", s.Flag, s.Env)
		}
	}
	// The mismatches this table was made to end; each is a regression.
	for _, c := range []struct{ cmd, flag, env string }{
		{"worker", "plugins", "AMTSWEG_PLUGINS"},
		{"plugins list", "plugins", "AMTSWEG_PLUGINS"},
		{"dev", "kafka-brokers", "KAFKA_BROKERS"},
		{"dev", "listen", "AMTSWEG_LISTEN"},
		{"token", "oidc-audience", "OIDC_AUDIENCE"},
		{"api", "oidc-audience", "OIDC_AUDIENCE"},
	} {
		cmd, _, err := cli.New(devcmd.Commands()...).Find(strings.Fields(c.cmd))
		if err != nil {
			t.Fatal(err)
		}
		f := cmd.Flags().Lookup(c.flag)
		if f == nil || len(f.Annotations["amtsweg-setting-env"]) != 1 || f.Annotations["amtsweg-setting-env"][0] != c.env {
			t.Errorf("amtsweg %s --%s: want the setting of %s", c.cmd, c.flag, c.env)
		}
	}
}

// checkSettingsTable: one row per flag and per variable.
func checkSettingsTable(t *testing.T) {
	flags, envs := map[string]bool{}, map[string]bool{}
	for _, s := range cli.Settings {
		if s.Flag == "" || s.Env == "" || s.Help == "" {
			t.Errorf("setting %+v: flag, variable and help are required", s)
		}
		if flags[s.Flag] || envs[s.Env] {
			t.Errorf("setting --%s / %s appears twice", s.Flag, s.Env)
		}
		flags[s.Flag], envs[s.Env] = true, true
	}
}

// TestSettingsDocumented: docs/configuration.md has a row for every
// setting, with its flag, variable and default.
func TestSettingsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cli.Settings {
		def := "(none)"
		if s.Default != "" {
			def = "`" + s.Default + "`"
		}
		row := "| `--" + s.Flag + "` | `" + s.Env + "` | " + def + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/configuration.md lacks the row %s", row)
		}
	}
}

// TestSettingFromEnvironment: a setting's variable is its default in every
// command that takes it, e.g. dev honours AMTSWEG_LISTEN like api does.
func TestSettingFromEnvironment(t *testing.T) {
	t.Setenv("AMTSWEG_LISTEN", "127.0.0.1:18080")
	t.Setenv("AMTSWEG_PLUGINS", "/opt/amtsweg/plugins")
	for _, c := range []struct{ cmd, flag, want string }{
		{"dev", "listen", "127.0.0.1:18080"},
		{"api", "listen", "127.0.0.1:18080"},
		{"worker", "plugins", "/opt/amtsweg/plugins"},
		{"plugins list", "plugins", "/opt/amtsweg/plugins"},
		{"definitions validate", "plugins", "/opt/amtsweg/plugins"},
	} {
		cmd, _, err := cli.New(devcmd.Commands()...).Find(strings.Fields(c.cmd))
		if err != nil {
			t.Fatal(err)
		}
		f := cmd.Flags().Lookup(c.flag)
		if f == nil || f.Value.String() != c.want {
			t.Errorf("amtsweg %s --%s = %v, want %s from the environment", c.cmd, c.flag, f, c.want)
		}
	}
}

// TestSecretSettingsStayOutOfHelp: a token or database URL from the
// environment is used but not printed by --help.
func TestSecretSettingsStayOutOfHelp(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://amtsweg:s3cret@db/amtsweg")
	cmd, _, err := cli.New().Find([]string{"migrate"})
	if err != nil {
		t.Fatal(err)
	}
	f := cmd.Flags().Lookup("database-url")
	if f.Value.String() != "postgres://amtsweg:s3cret@db/amtsweg" {
		t.Errorf("--database-url = %q, want DATABASE_URL's value", f.Value.String())
	}
	if strings.Contains(cmd.Flags().FlagUsages(), "s3cret") {
		t.Errorf("--help shows the password:\n%s", cmd.Flags().FlagUsages())
	}
}
