package views

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

//go:generate go test -run ^TestKeybindingsDoc$ -count=1 . -args -update

const keybindingsDoc = "../docs/keybindings.md"

// TestKeybindingsDoc fails when docs/keybindings.md is not what the table
// generates; `go generate ./views` (or go test ./views -update) rewrites it.
func TestKeybindingsDoc(t *testing.T) {
	want := KeybindingsMarkdown()
	if *update {
		if err := os.WriteFile(filepath.FromSlash(keybindingsDoc), []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(filepath.FromSlash(keybindingsDoc))
	if err != nil || string(got) != want {
		t.Errorf("docs/keybindings.md is stale or missing (%v): run go generate ./views", err)
	}
}

func TestBindingsUniqueAndComplete(t *testing.T) {
	seen := map[Key]bool{}
	acts := map[Action]bool{}
	for _, b := range Bindings {
		if b.Help == "" || b.Section == "" || len(b.Keys) == 0 {
			t.Errorf("incomplete binding %+v", b)
		}
		acts[b.Action] = true
		for _, k := range b.Keys {
			if seen[k] {
				t.Errorf("key %s bound twice", k)
			}
			seen[k] = true
		}
	}
	for a := ActQuit; a <= ActPause; a++ {
		if !acts[a] {
			t.Errorf("action %d has no key", a)
		}
	}
}

// TestHelpShowsEveryBinding: every binding is on the help screen, at once
// on a large terminal, and by scrolling (j/PgDn) at 80×24, where entries
// are never cut.
func TestHelpShowsEveryBinding(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		st := NewUIState(ViewFlows)
		st.Help = true
		var text strings.Builder
		pages := 0
		for ; pages < 10; pages++ {
			f := BuildFrame(Demo(t0, 1), st, size[0], size[1])
			help := f.Pane(PaneHelp)
			for _, l := range help {
				text.WriteString(l.Text + "\n")
				if strings.Contains(l.Text, "…") {
					t.Errorf("%v: help entry cut: %q", size, l.Text)
				}
			}
			last := help[len(help)-1].Text
			if !strings.Contains(last, "scroll") {
				break
			}
			before := st.HelpOffset
			st.HandleKey(S(KeyPgDn), f)
			if BuildFrame(Demo(t0, 1), st, size[0], size[1]); st.HelpOffset == before {
				break
			}
		}
		if size[0] == 200 && pages > 0 {
			t.Errorf("%v: help needs scrolling on a large terminal", size)
		}
		for _, b := range Bindings {
			if !strings.Contains(text.String(), b.Keys[0].String()) {
				t.Errorf("%v: help lacks key %s", size, b.Keys[0])
			}
		}
	}
}
