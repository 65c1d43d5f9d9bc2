package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"netriage/triage/verdict"
	"netriage/views/format"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixtureDir holds the verdict package's fixture windows (input.json).
const fixtureDir = "../../triage/verdict/testdata"

func reports(t *testing.T) map[string]verdict.Report {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(fixtureDir, "*", "input.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures under %s (%v)", fixtureDir, err)
	}
	out := map[string]verdict.Report{}
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var w verdict.Window
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		name := filepath.Base(filepath.Dir(p))
		out[name] = verdict.Evaluate(w, verdict.DefaultThresholds())
		if name == "two_interfaces" {
			out["hostile_ifnames"] = verdict.Evaluate(hostileIfnames(w), verdict.DefaultThresholds())
		}
	}
	return out
}

// Interface names that break performance data: quotes, '=', '|' (which
// starts the performance data in a plugin's output), white space and a
// terminal escape.
const (
	hostileIf0 = "e'0=\"a|b`\x1b[2J"
	hostileIf1 = "wg 1='"
)

// hostileIfnames is the two-interface window with hostile interface names.
func hostileIfnames(w verdict.Window) verdict.Window {
	w.Interfaces = append([]verdict.Interface(nil), w.Interfaces...)
	w.Interfaces[0].Name, w.Interfaces[1].Name = hostileIf0, hostileIf1
	w.Capture.Interfaces = []string{hostileIf0}
	return w
}

func TestGolden(t *testing.T) {
	for name, r := range reports(t) {
		for _, f := range []Format{Text, Markdown, JSON} {
			t.Run(name+"/"+string(f), func(t *testing.T) {
				var b bytes.Buffer
				if err := Write(&b, r, f); err != nil {
					t.Fatal(err)
				}
				out := b.Bytes()
				if bytes.ContainsAny(out, "\x1b\x07") {
					t.Errorf("control characters reached the output")
				}
				ext := map[Format]string{Text: "txt", Markdown: "md", JSON: "json"}[f]
				if f == JSON {
					var back map[string]any
					if err := json.Unmarshal(out, &back); err != nil {
						t.Fatalf("json does not parse: %v", err)
					}
					if bytes.Count(out, []byte("\n")) != 1 {
						t.Errorf("json is not one NDJSON line")
					}
					for _, k := range []string{"verdict", "status", "exit_code", "interfaces"} {
						if _, ok := back[k]; !ok {
							t.Errorf("json lacks %q", k)
						}
					}
					// Goldens are indented for review; the output is one line.
					var ind bytes.Buffer
					_ = json.Indent(&ind, out, "", "  ")
					out = ind.Bytes()
				}
				golden(t, filepath.Join("testdata", name+"."+ext), out)
			})
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./views/report -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}

func TestHostileNames(t *testing.T) {
	r := reports(t)["hostile_names"]
	var md, txt bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), `evil?\[31mred\|\`+"`"+`x\`+"`") {
		t.Errorf("markdown does not escape the program name:\n%s", md.String())
	}
	// In the text, '|' becomes '¦': a plugin's output would take the rest
	// of the line for performance data.
	if !strings.Contains(txt.String(), "evil?[31mred¦`x`") || !strings.Contains(txt.String(), "bad?name.example") {
		t.Errorf("text does not show the sanitised names:\n%s", txt.String())
	}
	// The input report is left untouched.
	if r.Interfaces[0].TX.ExplainedBy[0].Owner.Program != "evil\x1b[31mred|`x`" {
		t.Error("Sanitized modified its input")
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, verdict.Report{}, "yaml"); err == nil {
		t.Error("yaml accepted")
	}
}

// TestLimitInExplainedFlows: an explaining flow whose connection has a
// word says it after its process, in the text, the Markdown and the JSON.
func TestLimitInExplainedFlows(t *testing.T) {
	all := reports(t)
	names := make([]string, 0, len(all))
	for name := range all {
		names = append(names, name)
	}
	sort.Strings(names) // the same fixture every run
	for _, name := range names {
		r := all[name]
		var d *verdict.DirReport
		for i := range r.Interfaces {
			for _, dir := range []verdict.Direction{verdict.RX, verdict.TX} {
				if dr := r.Interfaces[i].Dir(dir); d == nil && len(dr.ExplainedBy) > 0 && dr.ExplainedBy[0].Owner != nil && dr.ExplainedBy[0].Owner.PID > 0 {
					d = dr
				}
			}
		}
		if d == nil {
			continue
		}
		o := *d.ExplainedBy[0].Owner
		if label := verdict.OwnerLabel(&o); format.Sanitize(label, 0) != label {
			continue // hostile names are sanitised in the output: not this test's subject
		}
		o.Limit = "receiver"
		d.ExplainedBy[0].Owner = &o
		var txt, md, js bytes.Buffer
		if err := WriteText(&txt, r); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(&md, r); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&js, r); err != nil {
			t.Fatal(err)
		}
		want := verdict.OwnerLabel(&o) + "; limited by the receiver"
		if !strings.Contains(txt.String(), want) || !strings.Contains(md.String(), "limited by the receiver") || !strings.Contains(js.String(), `"limit":"receiver"`) {
			t.Errorf("%s: no %q:\n%s\n%s\n%s", name, want, txt.String(), md.String(), js.String())
		}
		return
	}
	t.Fatal("no fixture with an attributed explaining flow")
}
