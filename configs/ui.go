package configs

import "errors"

// UIConfig configures the terminal user interface.
type UIConfig struct {
	// View is the screen at start: overview (flows, processes, remotes
	// and connections together), or one of flows, procs, conns, remotes
	// links or egress full size.
	View string `yaml:"view"`
	// Bytes shows rates in bytes per second instead of bits per second.
	Bytes bool `yaml:"bytes"`
}

// DefaultUI returns the default UI section.
func DefaultUI() UIConfig { return UIConfig{View: "overview"} }

// Validate checks the view name.
func (c UIConfig) Validate() error {
	switch c.View {
	case "overview", "flows", "procs", "conns", "remotes", "links", "egress", "processes", "connections", "interfaces":
		return nil
	}
	return errors.New("ui.view: not a known view (use overview, flows, procs, conns, remotes, links or egress)")
}
