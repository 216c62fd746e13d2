// Package deploy holds no code: it is the folder of how Amtsweg runs
// beyond one machine (kubernetes/, grafana/, systemd/). Its tests parse
// those files and check them against the code — subcommands, settings,
// topics, consumer groups and metric names — so that they cannot rot.
package deploy
