package configs

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"netriage/triage/verdict"
)

// checkDocSection returns the "How netriage decides" section of
// docs/check.md.
func checkDocSection(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/check.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "\n## How netriage decides\n")
	if i < 0 {
		t.Fatal(`docs/check.md has no "## How netriage decides" section`)
	}
	sec := doc[i+1:]
	if j := strings.Index(sec[3:], "\n## "); j >= 0 {
		sec = sec[:j+3]
	}
	return sec
}

// verdictRules returns the values of the Rule* constants of triage/verdict
// (every finding the code can make), read from its source so a new rule
// cannot be left out of the list.
func verdictRules(t *testing.T) []string {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), "../triage/verdict", func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				vs, ok := n.(*ast.ValueSpec)
				if !ok {
					return true
				}
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Rule") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						rules = append(rules, v)
					}
				}
				return true
			})
		}
	}
	if len(rules) < 6 {
		t.Fatalf("found only the rules %v in triage/verdict", rules)
	}
	return rules
}

// TestCheckDocRules holds docs/check.md's "How netriage decides" to the
// code: a table row for every verdict and every finding rule, with a state
// and an exit code, and every key of the check section with its default.
func TestCheckDocRules(t *testing.T) {
	sec := checkDocSection(t)
	rows := map[string]string{}
	for _, l := range strings.Split(sec, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) < 8 {
			continue
		}
		rows[strings.TrimSpace(cells[2])] = l
	}
	names := verdictRules(t)
	for v := verdict.OK; ; v++ {
		s := v.String()
		if strings.HasPrefix(s, "verdict(") {
			break
		}
		names = append(names, s)
	}
	for _, name := range names {
		row, ok := rows["`"+name+"`"]
		if !ok {
			t.Errorf("docs/check.md, How netriage decides: no row for `%s`", name)
			continue
		}
		state := strings.TrimSpace(row[strings.LastIndex(strings.TrimRight(row, " |"), "|")+1:])
		hasState := false
		for _, st := range []verdict.Status{verdict.StatusOK, verdict.StatusWarning, verdict.StatusCritical, verdict.StatusUnknown} {
			if strings.Contains(state, fmt.Sprintf("%s, %d", st, st.ExitCode())) {
				hasState = true
			}
		}
		if !hasState {
			t.Errorf("the row of `%s` gives no state with its exit code (e.g. \"CRITICAL, 2\"): %q", name, state)
		}
	}
	def := DefaultCheck()
	dv := reflect.ValueOf(def)
	for i := range dv.NumField() {
		f := dv.Type().Field(i)
		key := strings.Split(f.Tag.Get("yaml"), ",")[0]
		var forms []string
		switch v := dv.Field(i).Interface().(type) {
		case float64:
			forms = []string{strconv.FormatFloat(v, 'g', -1, 64), strconv.FormatFloat(v, 'f', 2, 64)}
		case Duration:
			forms = []string{v.D().String()}
		case string:
			forms = []string{v}
		default:
			t.Fatalf("check.%s: a %T default the test cannot write", key, v)
		}
		found := false
		for _, form := range forms {
			found = found || strings.Contains(sec, "`check."+key+"` ("+form)
		}
		if !found {
			t.Errorf("docs/check.md, How netriage decides: no \"`check.%s` (%s)\" (the key with its default)", key, forms[0])
		}
	}
}
