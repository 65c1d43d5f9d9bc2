package configs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestResolveCheck(t *testing.T) {
	d := func(v time.Duration) *time.Duration { return &v }
	cfg := Default()
	cfg.Egress.Budgets = []string{"internet=10GB/h"}
	tests := []struct {
		name     string
		o        CheckOverrides
		interval time.Duration
		budgets  int
		err      string
	}{
		{"defaults", CheckOverrides{}, time.Second, 1, ""},
		{"interval at most the window", CheckOverrides{Duration: d(2 * time.Second), Interval: d(5 * time.Second)}, 2 * time.Second, 1, ""},
		{"interval out of range", CheckOverrides{Interval: d(time.Nanosecond)}, 0, 0, "--interval 1ns"},
		{"flags replace the config's budgets", CheckOverrides{Budgets: []string{"internet=1GB/h", "all=2GB/h"}}, time.Second, 2, ""},
		{"no budgets from the flag", CheckOverrides{Budgets: []string{}}, time.Second, 0, ""},
		{"bad budget", CheckOverrides{Budgets: []string{"internet"}}, 0, 0, "egress budget: budget 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ResolveCheck(cfg, tc.o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrUsage) {
					t.Fatalf("err %v, want a usage error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Interval != tc.interval || len(r.Budgets) != tc.budgets {
				t.Errorf("interval %s budgets %d, want %s and %d", r.Interval, len(r.Budgets), tc.interval, tc.budgets)
			}
		})
	}
}
