package verdict

import (
	"strings"
	"testing"

	"netriage/triage/egress"
)

// TestEgressBudgetFindings: a budget over its limit is a critical finding
// naming its processes and names, one over its warning a warning, one
// within both nothing; the report's exit code follows the worst.
func TestEgressBudgetFindings(t *testing.T) {
	b := func(c egress.Class, warn, limit float64) egress.Budget {
		return egress.Budget{Class: c, Measure: egress.MeasureSent, WarnPerHour: warn, LimitPerHour: limit}
	}
	rs := []egress.BudgetResult{
		{Budget: b("internet", 40e9, 50e9), PerHour: 62.5e9, State: egress.BudgetCritical,
			Processes: []egress.Contributor{{Label: "backup[7]", PerHour: 60e9, Share: 0.96}},
			Names:     []egress.Contributor{{Label: "bucket.example", PerHour: 60e9, Share: 0.96}}},
		{Budget: b("cross-zone", 8e9, 10e9), PerHour: 9e9, State: egress.BudgetWarning},
		{Budget: b("peering", 8e9, 10e9), PerHour: 1e9, State: egress.BudgetOK},
	}
	fs := budgetFindings(rs)
	if len(fs) != 2 {
		t.Fatalf("%d findings, want 2: %+v", len(fs), fs)
	}
	if fs[0].Status != StatusCritical || fs[0].Rule != RuleEgressBudget || fs[0].Where != "egress internet" {
		t.Errorf("first finding %+v", fs[0])
	}
	all := strings.Join(fs[0].Reasons, "\n")
	for _, want := range []string{"62.5 GB/h", "backup[7]", "bucket.example", "critical at 50 GB/h"} {
		if !strings.Contains(all+fs[0].Summary, want) {
			t.Errorf("finding does not say %q: %s / %s", want, fs[0].Summary, all)
		}
	}
	if fs[1].Status != StatusWarning {
		t.Errorf("second finding %+v, want a warning", fs[1])
	}
	w := fixtures()["ok_60pct"]
	w.EgressBudgets = rs[1:]
	if r := Evaluate(w, DefaultThresholds()); r.ExitCode != 1 {
		t.Errorf("exit code %d with a budget over its warning, want 1 (%s)", r.ExitCode, r.Summary)
	}
}
