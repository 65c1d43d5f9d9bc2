// Package configs holds netriage's configuration: the Go structure with its
// defaults, the YAML loader, validation, and the shipped example files.
//
// # Sections
//
// Each feature area owns one section struct in its own file (links.go,
// capture.go, attribution.go, check.go, ui.go, serve.go, egress.go), with its defaults and its
// Validate method. Config ties them together.
//
// # Errors
//
// Load reports the file and the line (or the key) of any problem, so the user
// can fix the file without guessing.
package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration. The zero value is not useful: start from
// Default and let Load overlay a file.
type Config struct {
	// Interval is the sampling and refresh period of every live subcommand.
	Interval Duration `yaml:"interval"`
	// Links configures interface counters and link capacities.
	Links LinksConfig `yaml:"links"`
	// Capture configures packet capture and flow accounting.
	Capture CaptureConfig `yaml:"capture"`
	// Attribution configures the socket and process join.
	Attribution AttributionConfig `yaml:"attribution"`
	// Check configures the saturation verdict.
	Check CheckConfig `yaml:"check"`
	// UI configures the terminal user interface.
	UI UIConfig `yaml:"ui"`
	// Serve configures the Prometheus exporter.
	Serve ServeConfig `yaml:"serve"`
	// Egress configures destination classes, prices and budgets.
	Egress EgressConfig `yaml:"egress"`
}

// Default returns the built-in configuration.
func Default() Config {
	return Config{
		Interval:    Duration(time.Second),
		Links:       DefaultLinks(),
		Capture:     DefaultCapture(),
		Attribution: DefaultAttribution(),
		Check:       DefaultCheck(),
		UI:          DefaultUI(),
		Serve:       DefaultServe(),
		Egress:      DefaultEgress(),
	}
}

// Validate checks every section and returns all problems found, each naming
// its key.
func (c Config) Validate() error {
	var errs []error
	if c.Interval.D() < 10*time.Millisecond || c.Interval.D() > time.Hour {
		errs = append(errs, fmt.Errorf("interval: %s is out of range (10ms..1h)", c.Interval.D()))
	}
	if b := c.Check.BurstInterval.D(); b != 0 && b >= c.Interval.D() {
		errs = append(errs, fmt.Errorf("check.burst_interval: %s is not shorter than interval (%s): the burst sampler reads within a step (make it shorter, or 0 to disable it)", b, c.Interval.D()))
	}
	errs = append(errs, c.Links.Validate(), c.Capture.Validate(), c.Attribution.Validate(), c.Check.Validate(), c.UI.Validate(), c.Serve.Validate(), c.Egress.Validate())
	return errors.Join(errs...)
}

// Opener opens a file the user named. The command passes one that opens with
// the user's own rights and refuses what is not a regular file; tests may
// pass os.Open.
type Opener func(path string) (*os.File, error)

// Load reads the YAML file at path, opened with open, over the defaults and
// validates the result. Unknown keys are errors. The returned error names the
// file and, where YAML provides it, the line; it never quotes the file's
// text, so a file that is not a config cannot be read through the message.
func Load(path string, open Opener) (Config, error) {
	f, err := open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w (check the path given with --config)", path, err)
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse reads a YAML configuration from r over the defaults and validates it.
// name is used in error messages.
func Parse(name string, r io.Reader) (Config, error) {
	cfg := Default()
	data, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", name, err)
	}
	if len(data) > 1<<20 {
		return Config{}, fmt.Errorf("config %s: file larger than 1 MiB; is this the right file?", name)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return cfg, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config %s: %s", name, decodeMessage(err))
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: invalid values:\n%w", name, err)
	}
	return cfg, nil
}

// Duration is a time.Duration that reads and writes as a Go duration string
// ("1s", "500ms") in YAML.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration such as 1s or 500ms", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: not a duration (use e.g. 1s, 500ms, 2m)", n.Line)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }
