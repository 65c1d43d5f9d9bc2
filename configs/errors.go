package configs

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Messages from the YAML decoder quote the offending text. A config file is
// named by the user, and netriage may run with capabilities that read any
// file, so the messages are rewritten to name only lines, keys of our own
// schema and what was expected.
var (
	reUnknownKey = regexp.MustCompile(`^line (\d+): field (.*) not found in type ([\w.]+)$`)
	reWrongType  = regexp.MustCompile("^line (\\d+): cannot unmarshal (!!\\w+)(?: .*)? into (.+)$")
	reQuoted     = regexp.MustCompile("`[^`]*`|\"[^\"]*\"|'[^']*'")
)

// decodeMessage turns a yaml.v3 decoding error of a config file into one
// line per problem.
func decodeMessage(err error) string { return decodeMessageIn(err, reflect.TypeOf(Config{})) }

// decodeMessageIn is decodeMessage for a file whose top level is the
// struct type root.
func decodeMessageIn(err error, root reflect.Type) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return scrub(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	// The same problem on several lines (every line of a file that is
	// not a config, say) is said once, with its lines.
	var order []string
	lines := map[string][]string{}
	for _, e := range te.Errors {
		line, msg := typeErrorMessage(e, root)
		if _, ok := lines[msg]; !ok {
			order = append(order, msg)
		}
		lines[msg] = append(lines[msg], line)
	}
	msgs := make([]string, 0, len(order))
	for _, msg := range order {
		msgs = append(msgs, linesOf(lines[msg])+msg)
	}
	return strings.Join(msgs, "; ")
}

// maxLinesNamed is how many line numbers one message names before it
// counts the rest.
const maxLinesNamed = 5

// linesOf is the "line 3: " or "lines 1, 2, 4 and 20 more: " prefix of a
// message about the given lines ("" when no line is known).
func linesOf(ls []string) string {
	known := ls[:0:0]
	for _, l := range ls {
		if l != "" {
			known = append(known, l)
		}
	}
	switch n := len(known); {
	case n == 0:
		return ""
	case n == 1:
		return "line " + known[0] + ": "
	case n <= maxLinesNamed:
		return "lines " + strings.Join(known[:n-1], ", ") + " and " + known[n-1] + ": "
	default:
		return fmt.Sprintf("lines %s and %d more: ", strings.Join(known[:maxLinesNamed], ", "), n-maxLinesNamed)
	}
}

// typeErrorMessage rewrites one of yaml.v3's messages: the line it names
// ("" when none) and the problem, without quoting the file.
func typeErrorMessage(e string, root reflect.Type) (line, msg string) {
	if m := reUnknownKey.FindStringSubmatch(e); m != nil {
		section, keys := schemaKeys(m[3], root)
		msg := "unknown key in " + section
		if best := closest(m[2], keys); best != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", best)
		}
		if len(keys) > 0 {
			msg += "; keys there: " + strings.Join(keys, ", ")
		}
		return m[1], msg
	}
	if m := reWrongType.FindStringSubmatch(e); m != nil {
		return m[1], fmt.Sprintf("a value of the wrong type (want %s)", wantOf(m[3]))
	}
	return "", scrub(e)
}

// scrub removes quoted text from a message.
func scrub(s string) string { return reQuoted.ReplaceAllString(s, "a value") }

// wantOf describes a Go type named in a yaml.v3 message.
func wantOf(goType string) string {
	switch {
	case goType == "configs.Duration":
		return "a duration such as 1s or 500ms"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "configs."):
		return "a section of key: value lines"
	}
	return "another type"
}

// schemaKeys returns the section path and the YAML keys of the config
// struct type named goType ("configs.CheckConfig") under root.
func schemaKeys(goType string, root reflect.Type) (section string, keys []string) {
	var walk func(t reflect.Type, path string) bool
	walk = func(t reflect.Type, path string) bool {
		if "configs."+t.Name() == goType {
			section = path
			for i := 0; i < t.NumField(); i++ {
				if k := yamlKey(t.Field(i)); k != "" {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			return true
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			ft := f.Type
			// A list or map of sections (egress.networks, egress.prices)
			// has the element's keys.
			if k := ft.Kind(); k == reflect.Slice || k == reflect.Map {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft.PkgPath() == t.PkgPath() {
				if walk(ft, strings.TrimPrefix(path+"."+yamlKey(f), "the top level.")) {
					return true
				}
			}
		}
		return false
	}
	if !walk(root, "the top level") {
		return "the file", nil
	}
	if section != "the top level" {
		section = "section " + section
	}
	return section, keys
}

func yamlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if k == "-" {
		return ""
	}
	return k
}

// closest returns the key nearest to s by edit distance, if it is close
// enough to be a typo (at most a third of its length, and at most 3).
func closest(s string, keys []string) string {
	best, bestD := "", 4
	for _, k := range keys {
		if d := editDistance(s, k); d < bestD && d*3 <= len(k) {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ErrUsage marks errors caused by the user's input (flags, the config
// file, names that do not exist): commands exit with their usage code for
// them rather than a failure.
var ErrUsage = errors.New("usage error")

// Usagef returns an error that wraps ErrUsage.
func Usagef(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUsage}, a...)...)
}

// UsageMessage is err's text without the ErrUsage prefix.
func UsageMessage(err error) string {
	return strings.TrimPrefix(err.Error(), ErrUsage.Error()+": ")
}
