package configs

import (
	"regexp"
	"strings"
)

// foreignFlags are flags of iftop, nethogs and bandwhich that netriage
// spells another way (or does by default): the hint says what to type.
var foreignFlags = map[string]string{
	"-t":                  "-t is iftop's and nethogs' text mode: use 'netriage flows' (or 'netriage procs'), e.g. 'netriage flows --interval 5s --count 1' for iftop's -t -s 5",
	"-s":                  "-s N is iftop's single output after N seconds: use 'netriage flows --interval Ns --count 1'",
	"-d":                  "-d N is nethogs' refresh delay: use --interval Ns",
	"-c":                  "-c is nethogs' count (use --count N) or iftop's config file (use --config FILE)",
	"-a":                  "-a is nethogs' all devices: netriage watches every interface that is up unless -i names some",
	"-C":                  "-C is nethogs' UDP: netriage counts UDP whenever it captures packets",
	"-m":                  "-m is iftop's bar scale: bars scale to the busiest row",
	"-b":                  "-b is iftop's no-bars: bars shrink away on narrow terminals",
	"-r":                  "-r is bandwhich's raw output: use --output json (or csv)",
	"--raw":               "--raw is bandwhich's: use --output json (or csv)",
	"--processes":         "--processes is bandwhich's: use 'netriage procs', or the TUI's Processes pane",
	"--connections":       "--connections is bandwhich's: use 'netriage conns', or the TUI's Connections pane",
	"--addresses":         "--addresses is bandwhich's: use 'netriage remotes', or the TUI's Remotes pane",
	"--total-utilization": "--total-utilization is bandwhich's: use 'netriage links' or the TUI's header",
}

var reUnknownFlag = regexp.MustCompile(`^unknown (?:shorthand )?flag: (?:'(.)' in -\S*|(--?[\w-]+))`)

// ForeignFlagHint returns, for the flag parser's "unknown flag" message,
// what a user of iftop, nethogs or bandwhich should type instead ("" when
// the flag is none of theirs).
func ForeignFlagHint(parseErr string) string {
	m := reUnknownFlag.FindStringSubmatch(strings.TrimSpace(parseErr))
	if m == nil {
		return ""
	}
	name := m[2]
	if m[1] != "" {
		name = "-" + m[1]
	}
	return foreignFlags[name]
}

// FlagError is the usage error for the flag parser's err in subcommand
// sub: with what a user of iftop, nethogs or bandwhich should type instead
// when the flag is one of theirs (ForeignFlagHint), else with where sub's
// flags are listed.
func FlagError(sub string, err error) error {
	if hint := ForeignFlagHint(err.Error()); hint != "" {
		return Usagef("%v: %s", err, hint)
	}
	return Usagef("%v (see 'netriage %s --help')", err, sub)
}
