package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/amtsweg/amtsweg/internal/auth"
	"github.com/amtsweg/amtsweg/internal/stack"
)

// Setting is one configuration setting of the amtsweg commands: the flag
// that sets it, the environment variable that sets it when the flag is not
// given, the default when neither is, and what it means. Every command
// that takes a setting registers it from Settings (RegisterSetting), so a
// setting has one name, one variable and one meaning everywhere;
// docs/configuration.md lists the table and settings_test.go checks every
// command's flags against it.
type Setting struct {
	Flag    string
	Env     string
	Default string
	Help    string
	// Secret settings (passwords, tokens) do not show the environment's
	// value as the flag's default in --help.
	Secret bool
	// Retired are former flag names of this setting. A command may keep
	// one only as a deprecated alias (hidden, with a warning).
	Retired []string
}

// Settings is the table of every setting.
var Settings = []Setting{
	{Flag: "temporal-address", Env: "TEMPORAL_ADDRESS", Default: "127.0.0.1:7233",
		Help: "Temporal frontend host:port (dev: where the embedded server listens)"},
	{Flag: "temporal-namespace", Env: "TEMPORAL_NAMESPACE", Default: "amtsweg",
		Help: "Temporal namespace"},
	{Flag: "kafka-brokers", Env: "KAFKA_BROKERS", Default: "127.0.0.1:9092",
		Help: "comma-separated Kafka brokers host:port (dev: the embedded broker's one address)", Retired: []string{"kafka-address", "brokers"}},
	{Flag: "database-url", Env: "DATABASE_URL", Default: "", Secret: true,
		Help: "PostgreSQL URL (dev: empty starts a private cluster in the data dir)"},
	{Flag: "listen", Env: "AMTSWEG_LISTEN", Default: "127.0.0.1:8080",
		Help: "HTTP listen address of the API and pages"},
	{Flag: "api", Env: "AMTSWEG_API", Default: "http://127.0.0.1:8080",
		Help: "address of the Amtsweg API to talk to"},
	{Flag: "token", Env: "AMTSWEG_TOKEN", Default: "", Secret: true,
		Help: "bearer token for the API (a designer's, for definitions)"},
	{Flag: "oidc-issuer", Env: "OIDC_ISSUER", Default: "",
		Help: "OIDC issuer URL of clerks' and designers' tokens (required by api)"},
	{Flag: "oidc-audience", Env: "OIDC_AUDIENCE", Default: auth.DefaultAudience,
		Help: "audience (aud) of clerks' and designers' tokens", Retired: []string{"audience"}},
	{Flag: "plugins", Env: "AMTSWEG_PLUGINS", Default: "./plugins/bin",
		Help: "directory of plugin executables, watched for new ones (empty: bundled plugins only)", Retired: []string{"plugin-dir"}},
	{Flag: "data-dir", Env: "AMTSWEG_DATA_DIR", Default: ".amtsweg",
		Help: "directory for local state: plugin data (e-file, outbox), the dev issuer's key; in dev all state"},
	{Flag: "metrics-listen", Env: "AMTSWEG_METRICS_LISTEN", Default: "",
		Help: "listen address of the operations endpoints /livez, /readyz and /metrics (Prometheus), apart from the public API; empty: the process kind's own port on loopback (api 9464, worker 9465, intake 9466, projector 9467); off: none"},
	{Flag: "tls-cert", Env: "AMTSWEG_TLS_CERT", Default: "",
		Help: "PEM certificate chain: serve HTTPS with HSTS"},
	{Flag: "tls-key", Env: "AMTSWEG_TLS_KEY", Default: "", Secret: true,
		Help: "PEM private key of --tls-cert"},
	{Flag: "efile-dir", Env: "AMTSWEG_EFILE_DIR", Default: "",
		Help: "the e-file plugin's directory (default: <data-dir>/plugins/efile), read by the records exports"},
	{Flag: "master-key", Env: "AMTSWEG_MASTER_KEY", Default: "", Secret: true,
		Help: "master key (32 bytes, base64) wrapping the applications' data keys that seal procedure events on Kafka (required by worker and projector; dev: generated into <data-dir>/master.key)"},
	{Flag: "db-pool-api", Env: "AMTSWEG_DB_POOL_API", Default: strconv.Itoa(stack.DefaultAPIPool),
		Help: "maximum PostgreSQL connections of the API (api and dev)"},
	{Flag: "db-pool-projector", Env: "AMTSWEG_DB_POOL_PROJECTOR", Default: strconv.Itoa(stack.DefaultProjectorPool),
		Help: "maximum PostgreSQL connections of the projector (projector and dev)"},
	{Flag: "db-pool-intake", Env: "AMTSWEG_DB_POOL_INTAKE", Default: strconv.Itoa(stack.DefaultIntakePool),
		Help: "maximum PostgreSQL connections of the intake (intake and dev)"},
	{Flag: "db-pool-worker", Env: "AMTSWEG_DB_POOL_WORKER", Default: strconv.Itoa(stack.DefaultWorkerPool),
		Help: "maximum PostgreSQL connections of the worker's activities and plugins (worker and dev)"},
	{Flag: "log-format", Env: "AMTSWEG_LOG_FORMAT", Default: "auto",
		Help: "log format: auto (text on a terminal, else JSON), text or json"},
}

// settingAnnotation marks a flag registered from Settings; its value is
// the environment variable.
const settingAnnotation = "amtsweg-setting-env"

// LookupSetting returns the setting of a flag name.
func LookupSetting(flag string) (Setting, bool) {
	for _, s := range Settings {
		if s.Flag == flag {
			return s, true
		}
	}
	return Setting{}, false
}

// Usage is the flag's help text: the meaning and the variable.
func (s Setting) Usage() string { return s.Help + " (" + s.Env + ")" }

// Value is the setting's value when no flag is given: the environment
// variable, else the default.
func (s Setting) Value() string { return Env(s.Env, s.Default) }

// RegisterSetting adds the setting named flag to fs, bound to p. The
// flag's default is the environment variable's value, else the table's
// default; for a secret setting --help shows the table's default only.
// It panics for a name that is not in Settings: a programming error that
// every test of the command tree finds.
func RegisterSetting(fs *pflag.FlagSet, p *string, flag string) {
	s, ok := LookupSetting(flag)
	if !ok {
		panic("cli: no setting " + flag + " in Settings")
	}
	if s.Secret {
		fs.StringVar(p, s.Flag, s.Default, s.Usage())
		*p = s.Value()
	} else {
		fs.StringVar(p, s.Flag, s.Value(), s.Usage())
	}
	_ = fs.SetAnnotation(s.Flag, settingAnnotation, []string{s.Env})
}

// RegisterRetired adds a retired name of a setting as a hidden, deprecated
// alias bound to the same variable, so that existing scripts keep working.
func RegisterRetired(fs *pflag.FlagSet, p *string, flag, retired string) {
	s, ok := LookupSetting(flag)
	if !ok {
		panic("cli: no setting " + flag + " in Settings")
	}
	fs.StringVar(p, retired, *p, s.Usage())
	_ = fs.MarkDeprecated(retired, "use --"+flag+" (or "+s.Env+")")
}

// PoolFlags are the pool-size settings (db-pool-*) of a command, as given.
type PoolFlags struct {
	api, projector, intake, worker string
}

// Register adds the pool-size settings of roles ("api", "projector",
// "intake", "worker") to fs.
func (p *PoolFlags) Register(fs *pflag.FlagSet, roles ...stack.Role) {
	for _, r := range roles {
		RegisterSetting(fs, p.field(r), "db-pool-"+string(r))
	}
}

func (p *PoolFlags) field(r stack.Role) *string {
	switch r {
	case stack.RoleAPI:
		return &p.api
	case stack.RoleProjector:
		return &p.projector
	case stack.RoleIntake:
		return &p.intake
	case stack.RoleWorker:
		return &p.worker
	}
	panic("cli: no pool setting for role " + string(r))
}

// Sizes parses the registered settings; an unregistered one is 0 (the
// role's default).
func (p *PoolFlags) Sizes() (stack.PoolSizes, error) {
	var out stack.PoolSizes
	for _, f := range []struct {
		role stack.Role
		dst  *int
	}{{stack.RoleAPI, &out.API}, {stack.RoleProjector, &out.Projector}, {stack.RoleIntake, &out.Intake}, {stack.RoleWorker, &out.Worker}} {
		v := *p.field(f.role)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 1000 {
			s, _ := LookupSetting("db-pool-" + string(f.role))
			return stack.PoolSizes{}, fmt.Errorf("--%s (%s) %q: want a number of connections from 1 to 1000, e.g. %s", s.Flag, s.Env, v, s.Default)
		}
		*f.dst = n
	}
	return out, nil
}

// RegisterLogFormat adds the log-format setting to fs.
func RegisterLogFormat(fs *pflag.FlagSet, p *string) { RegisterSetting(fs, p, "log-format") }

// NewLogger returns the logger of a long-running command on stderr in
// format (see the log-format setting): text on a terminal and JSON lines
// otherwise for auto. AMTSWEG_DEBUG=1 logs at Debug.
func NewLogger(format string) (*slog.Logger, error) {
	return newLogger(os.Stderr, format, term.IsTerminal(int(os.Stderr.Fd())))
}

func newLogger(w io.Writer, format string, tty bool) (*slog.Logger, error) {
	level := slog.LevelInfo
	if os.Getenv("AMTSWEG_DEBUG") != "" {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "auto", "":
		if tty {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use auto, text or json (or set AMTSWEG_LOG_FORMAT)", format)
}
