package inputs

import (
	"errors"
	"strings"
	"testing"

	"netriage/configs"
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
