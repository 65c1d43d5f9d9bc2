package mixin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// ruleFile is the part of a Prometheus rule file the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// testFile is the part of a promtool unit-test file the tests read.
type testFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name           string `yaml:"name"`
		AlertRuleTests []struct {
			EvalTime  string `yaml:"eval_time"`
			AlertName string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels map[string]string `yaml:"exp_labels"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromQLExprTests []struct {
			Expr string `yaml:"expr"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Title      string `json:"title"`
	UID        string `json:"uid"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func rules(t *testing.T, path string) []rule {
	t.Helper()
	var f ruleFile
	readYAML(t, path, &f)
	if len(f.Groups) == 0 {
		t.Fatalf("%s: no groups", path)
	}
	var out []rule
	for _, g := range f.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("%s: group %q is unnamed or empty", path, g.Name)
		}
		out = append(out, g.Rules...)
	}
	return out
}

func alertTests(t *testing.T) map[string]testFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("tests", "*.yml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no tests/*.yml (%v)", err)
	}
	out := map[string]testFile{}
	for _, p := range paths {
		var f testFile
		readYAML(t, p, &f)
		for _, rf := range f.RuleFiles {
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), rf)); err != nil {
				t.Errorf("%s: rule file %s: %v", p, rf, err)
			}
		}
		out[p] = f
	}
	return out
}

// documentedMetrics returns the families docs/metrics.md documents (its
// "### `name`" headings), the contract of serve's exposition.
func documentedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^### `(netriage_[a-z0-9_]+)`").FindAllStringSubmatch(string(doc), -1) {
		out[m[1]] = true
	}
	if len(out) < 30 {
		t.Fatalf("docs/metrics.md documents %d families; the headings changed?", len(out))
	}
	return out
}

var (
	reString = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	reIdent  = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
)

// names returns the identifiers of a PromQL expression that name series:
// netriage families and recorded series (level:metric:operations). String
// literals (label values, Grafana variables) are left out.
func names(expr string) []string {
	var out []string
	for _, id := range reIdent.FindAllString(reString.ReplaceAllString(expr, `""`), -1) {
		if strings.HasPrefix(id, "netriage_") || strings.Contains(id, ":") {
			out = append(out, id)
		}
	}
	return out
}

// balanced reports the first unbalanced bracket of a PromQL expression
// outside its string literals, or "". It catches the usual slip of a
// hand-edited dashboard query, which promtool does not see.
func balanced(expr string) string {
	pairs := map[rune]rune{')': '(', '}': '{', ']': '['}
	var stack []rune
	for _, c := range reString.ReplaceAllString(expr, `""`) {
		switch c {
		case '(', '{', '[':
			stack = append(stack, c)
		case ')', '}', ']':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return "unbalanced " + string(c)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return "unclosed " + string(stack[len(stack)-1])
	}
	return ""
}

// Every series an expression of the mixin reads is a family of
// docs/metrics.md or a series the recording rules record; so a renamed
// metric breaks this test and not, silently, the fleet's alerts.
func TestMetricNames(t *testing.T) {
	doc := documentedMetrics(t)
	recorded := map[string]bool{}
	reRecord := regexp.MustCompile(`^[a-z_]+:(netriage_[a-z0-9_]+):[a-z0-9_]+$`)
	for _, r := range rules(t, "rules.yml") {
		m := reRecord.FindStringSubmatch(r.Record)
		if m == nil {
			t.Errorf("recorded name %q is not level:netriage_metric:operations", r.Record)
			continue
		}
		if recorded[r.Record] {
			t.Errorf("%s is recorded twice", r.Record)
		}
		recorded[r.Record] = true
	}

	type expr struct{ where, expr string }
	var exprs []expr
	for _, file := range []string{"rules.yml", "alerts.yml"} {
		for _, r := range rules(t, file) {
			exprs = append(exprs, expr{file + ": " + r.Record + r.Alert, r.Expr})
		}
	}
	for path, f := range alertTests(t) {
		for _, tc := range f.Tests {
			for _, e := range tc.PromQLExprTests {
				exprs = append(exprs, expr{path + ": " + tc.Name, e.Expr})
			}
		}
	}
	for _, p := range readDashboard(t).Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, expr{"dashboard.json: " + p.Title, tg.Expr})
		}
	}

	used := map[string]bool{}
	for _, e := range exprs {
		if strings.TrimSpace(e.expr) == "" {
			t.Errorf("%s: empty expression", e.where)
		}
		if err := balanced(e.expr); err != "" {
			t.Errorf("%s: %s in %s", e.where, err, e.expr)
		}
		for _, n := range names(e.expr) {
			used[n] = true
			switch {
			case strings.Contains(n, ":"):
				if !recorded[n] {
					t.Errorf("%s: %s is not recorded in rules.yml", e.where, n)
				}
			case !doc[n]:
				t.Errorf("%s: %s is not a family of docs/metrics.md", e.where, n)
			}
		}
	}
	for n := range recorded {
		if !used[n] {
			t.Logf("%s is recorded for users' own queries; no alert or panel reads it", n)
		}
	}
}

// wantLabels lists, for each alert, the labels its series carry that the
// summary and description must name: the host (instance), and the
// interface and direction where the alert has them.
var wantLabels = map[string][]string{
	"NetriageLinkSaturated":   {"instance", "interface", "direction"},
	"NetriageCoverageLow":     {"instance", "interface", "direction"},
	"NetriageCaptureDropping": {"instance", "interface"}, // the capture's drops have no direction
	"NetriageExporterDown":    {"instance"},              // up has only job and instance
}

// Every alert waits (for:), carries a severity, and says which host,
// interface and direction it is about.
func TestAlerts(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range rules(t, "alerts.yml") {
		if r.Alert == "" {
			t.Errorf("alerts.yml holds a rule that is not an alert: %q", r.Record)
			continue
		}
		seen[r.Alert] = true
		if d, err := time.ParseDuration(r.For); err != nil || d <= 0 {
			t.Errorf("%s: for: %q, want a positive duration", r.Alert, r.For)
		}
		switch r.Labels["severity"] {
		case "info", "warning", "critical":
		default:
			t.Errorf("%s: severity %q, want info, warning or critical", r.Alert, r.Labels["severity"])
		}
		want, ok := wantLabels[r.Alert]
		if !ok {
			t.Errorf("%s: not in wantLabels; say which labels its annotations name", r.Alert)
		}
		for _, a := range []string{"summary", "description"} {
			text := r.Annotations[a]
			if text == "" {
				t.Errorf("%s: no %s annotation", r.Alert, a)
			}
			for _, l := range want {
				if !strings.Contains(text, "$labels."+l) {
					t.Errorf("%s: %s does not name $labels.%s", r.Alert, a, l)
				}
			}
		}
	}
	for a := range wantLabels {
		if !seen[a] {
			t.Errorf("wantLabels names %s, which alerts.yml does not define", a)
		}
	}
}

// Every alert has three promtool cases, named "ALERT: fires", "ALERT: does
// not fire" and "ALERT: resolves", and each checks what its name says:
// the alert firing at some evaluation; never firing; firing and then, at a
// later evaluation, not.
func TestAlertCases(t *testing.T) {
	alerts := map[string]bool{}
	for _, r := range rules(t, "alerts.yml") {
		alerts[r.Alert] = true
	}
	type check struct {
		at    time.Duration
		fired bool
	}
	cases := map[string][]check{} // by test name, for its alert
	for path, f := range alertTests(t) {
		for _, tc := range f.Tests {
			if len(tc.AlertRuleTests) == 0 {
				continue
			}
			alert, _, ok := strings.Cut(tc.Name, ": ")
			if !ok || !alerts[alert] {
				t.Errorf("%s: case %q is not named \"ALERT: ...\" after an alert of alerts.yml", path, tc.Name)
				continue
			}
			if _, dup := cases[tc.Name]; dup {
				t.Errorf("%s: case %q appears twice", path, tc.Name)
			}
			var checks []check
			for _, art := range tc.AlertRuleTests {
				if art.AlertName != alert {
					t.Errorf("%s: case %q checks %s", path, tc.Name, art.AlertName)
				}
				at, err := time.ParseDuration(art.EvalTime)
				if err != nil {
					t.Errorf("%s: case %q: eval_time %q: %v", path, tc.Name, art.EvalTime, err)
				}
				for _, e := range art.ExpAlerts {
					if e.ExpLabels["severity"] == "" {
						t.Errorf("%s: case %q expects an alert without severity", path, tc.Name)
					}
				}
				checks = append(checks, check{at, len(art.ExpAlerts) > 0})
			}
			sort.SliceStable(checks, func(i, j int) bool { return checks[i].at < checks[j].at })
			cases[tc.Name] = checks
		}
	}

	fires := func(cs []check) bool {
		for _, c := range cs {
			if c.fired {
				return true
			}
		}
		return false
	}
	resolves := func(cs []check) bool {
		for i, c := range cs {
			if c.fired {
				for _, later := range cs[i+1:] {
					if !later.fired {
						return true
					}
				}
			}
		}
		return false
	}
	for a := range alerts {
		tests := []struct {
			name string
			ok   func([]check) bool
			want string
		}{
			{a + ": fires", fires, "an evaluation where it fires"},
			{a + ": does not fire", func(cs []check) bool { return !fires(cs) }, "no evaluation where it fires"},
			{a + ": resolves", resolves, "an evaluation where it fires and a later one where it does not"},
		}
		for _, tc := range tests {
			cs, ok := cases[tc.name]
			switch {
			case !ok:
				t.Errorf("no promtool case %q in tests/*.yml", tc.name)
			case len(cs) == 0 || !tc.ok(cs):
				t.Errorf("case %q: want %s", tc.name, tc.want)
			}
		}
	}
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	return d
}

// The dashboard parses, every panel queries the chosen Prometheus with the
// host filters, and the fleet view's panels ask what they are for.
func TestDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q, uid %q: want both", d.Title, d.UID)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	for _, v := range []string{"datasource", "job", "instance"} {
		if !vars[v] {
			t.Errorf("no template variable $%s", v)
		}
	}

	ids := map[int]bool{}
	queries := map[string]string{} // panel title → its queries
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d appears twice", p.ID)
		}
		ids[p.ID] = true
		if _, dup := queries[p.Title]; dup || p.Title == "" {
			t.Errorf("panel title %q is empty or appears twice", p.Title)
		}
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("%s: data source %q, want ${datasource}", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no queries", p.Title)
		}
		var all []string
		for _, tg := range p.Targets {
			if !strings.Contains(tg.Expr, `job=~"$job"`) {
				t.Errorf("%s/%s: query does not filter by $job: %s", p.Title, tg.RefID, tg.Expr)
			}
			if strings.Contains(tg.Expr, "netriage_") && !strings.Contains(tg.Expr, `instance=~"$instance"`) {
				t.Errorf("%s/%s: query does not filter by $instance: %s", p.Title, tg.RefID, tg.Expr)
			}
			all = append(all, tg.Expr)
		}
		queries[p.Title] = strings.Join(all, "\n")
	}

	tests := []struct {
		panel string
		want  []string
	}{
		{"Saturated links", []string{"netriage_verdict_state", `state="saturated"`}},
		{"Saturated links now", []string{"netriage_verdict_state", `state="saturated"`, "netriage_verdict_utilization_ratio", "netriage_link_saturated_seconds_total"}},
		{"Top processes on saturated links", []string{"netriage_process_bytes:rate5m", "netriage_verdict_state", `state="saturated"`, "topk"}},
		{"Top remotes on saturated links", []string{"netriage_remote_bytes:rate5m", "netriage_remote_info", "netriage_verdict_state", `state="saturated"`, "topk"}},
		{"Exporters down", []string{"up{", "== 0"}},
		{"Capture dropping", []string{"netriage_capture_kernel_drops"}},
		{"Flow coverage", []string{"netriage_verdict_coverage_ratio"}},
	}
	for _, tc := range tests {
		t.Run(tc.panel, func(t *testing.T) {
			q, ok := queries[tc.panel]
			if !ok {
				t.Fatalf("no panel %q", tc.panel)
			}
			for _, w := range tc.want {
				if !strings.Contains(q, w) {
					t.Errorf("queries do not contain %q:\n%s", w, q)
				}
			}
		})
	}
}
