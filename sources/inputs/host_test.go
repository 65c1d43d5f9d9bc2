package inputs

import (
	"errors"
	"strings"
	"testing"

	"netriage/configs"
	"netriage/sources/links"
	"netriage/triage"
)

// TestCheckLinkSpeeds: a --link-speed interface must exist in the watched
// namespace (usage error listing the interfaces); one that only the config
// file names may appear later and is a warning.
func TestCheckLinkSpeeds(t *testing.T) {
	sample := &triage.LinksSample{Ifaces: []triage.IfaceSample{{Name: "lo"}, {Name: "eth0"}}}
	tests := []struct {
		name     string
		flags    []string
		file     map[string]string
		wantErr  string
		wantWarn []string
	}{
		{"existing", []string{"eth0=1G", "lo=10G"}, nil, "", nil},
		{"unknown flag name", []string{"eth0=1G", "nosuch=1G"}, nil, "--link-speed nosuch: no such interface (interfaces: eth0, lo)", nil},
		{"unknown names sorted", []string{"zz=1G", "aa=1G"}, nil, "--link-speed aa, zz: no such interface", nil},
		{"control characters stripped", []string{"x\x1b[2J=1G"}, nil, "--link-speed x?[2J: no such", nil},
		{"file name may appear later", nil, map[string]string{"wg0": "100M", "eth0": "1G"}, "", []string{"config links.speeds: no interface wg0 here yet; its capacity applies if it appears"}},
		{"flag wins over file for the same name", []string{"wg0=1G"}, map[string]string{"wg0": "100M"}, "--link-speed wg0: no such interface", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := configs.Resolve("", nil, configs.Overrides{LinkSpeeds: tc.flags})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.file {
				if _, dup := cfg.Links.Speeds[k]; !dup {
					if cfg.Links.Speeds == nil {
						cfg.Links.Speeds = map[string]string{}
					}
					cfg.Links.Speeds[k] = v
				}
			}
			warn, err := CheckLinkSpeeds(cfg, tc.flags, sample)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			case tc.wantErr != "" && !errors.Is(err, configs.ErrUsage):
				t.Errorf("not a usage error: %v", err)
			}
			if strings.Join(warn, "|") != strings.Join(tc.wantWarn, "|") {
				t.Errorf("warnings %q, want %q", warn, tc.wantWarn)
			}
		})
	}
}

// sampleLinks is a LinksReader of one sample, or of one error.
type sampleLinks struct {
	s   triage.LinksSample
	err error
}

func (r *sampleLinks) Read() (triage.LinksSample, error) { return r.s, r.err }
func (r *sampleLinks) Close() error                      { return nil }

// TestProbeHostLinkSpeeds: doctor's probe checks the capacity overrides
// against the counters it read: a flag's unknown interface is a usage
// error, a config file's is a warning, and counters that could not be
// read check nothing.
func TestProbeHostLinkSpeeds(t *testing.T) {
	eth0 := triage.LinksSample{Ifaces: []triage.IfaceSample{{Name: "eth0"}}}
	tests := []struct {
		name     string
		reader   *sampleLinks
		flags    []string
		wantErr  string
		wantWarn string
	}{
		{"known flag, file name later", &sampleLinks{s: eth0}, []string{"eth0=1G"}, "", "config links.speeds: no interface wg0 here yet"},
		{"unknown flag", &sampleLinks{s: eth0}, []string{"nosuch=1G"}, "--link-speed nosuch: no such interface", ""},
		{"unread counters", &sampleLinks{err: errors.New("netlink: permission denied")}, []string{"nosuch=1G"}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := OpenLinks
			OpenLinks = func(links.Options) (LinksReader, error) { return tc.reader, nil }
			t.Cleanup(func() { OpenLinks = orig })
			cfg, err := configs.Resolve("", nil, configs.Overrides{LinkSpeeds: tc.flags}) // the flags' speeds
			if err != nil {
				t.Fatal(err)
			}
			cfg.Links.Speeds["wg0"] = "100M" // the file's
			h, err := ProbeHost("", cfg, tc.flags)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, configs.ErrUsage)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if got := strings.Join(h.Warnings, "|"); !strings.Contains(got, tc.wantWarn) || (tc.wantWarn == "") != (got == "") {
				t.Errorf("warnings %q, want %q", got, tc.wantWarn)
			}
			if (h.Links != nil) != (tc.reader.err == nil) || (h.LinksErr != nil) != (tc.reader.err != nil) {
				t.Errorf("links %v, error %v", h.Links, h.LinksErr)
			}
		})
	}
}
