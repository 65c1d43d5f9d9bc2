package verdict

import (
	"fmt"
	"strings"

	"netriage/triage/egress"
)

// RuleEgressBudget is the finding of an egress budget at or above its
// warning.
const RuleEgressBudget = "egress-budget"

// budgetFindings turns the egress budgets judged over the window into
// findings: a warning or a critical finding for a budget at or above its
// warning or limit (its class, the rate against the limit, the processes
// and names that carry it), an unknown one when it cannot be judged
// (unpriced bytes, another currency). Budgets within their limits give
// none.
func budgetFindings(rs []egress.BudgetResult) []Finding {
	var out []Finding
	for _, r := range rs {
		var st Status
		switch r.State {
		case egress.BudgetWarning:
			st = StatusWarning
		case egress.BudgetCritical:
			st = StatusCritical
		case egress.BudgetUnknown:
			st = StatusUnknown
		default:
			continue
		}
		b := r.Budget
		f := Finding{Rule: RuleEgressBudget, Status: st, Where: "egress " + string(b.Class)}
		f.Summary = fmt.Sprintf("egress %s %s at %s, budget %s", b.Class, b.Measure, budgetAmount(b, r.PerHour), budgetAmount(b, b.LimitPerHour))
		f.Reasons = append(f.Reasons, fmt.Sprintf("%s per hour at the 40 s rate: %s; warning at %s, critical at %s",
			b.Measure, budgetAmount(b, r.PerHour), budgetAmount(b, b.WarnPerHour), budgetAmount(b, b.LimitPerHour)))
		if r.CurrencyMismatch {
			f.Reasons = append(f.Reasons, "the budget's currency is not the prices' (egress.currency): it cannot be judged")
		}
		if r.UnpricedBytesPerHr > 0 {
			f.Reasons = append(f.Reasons, fmt.Sprintf("%s/h of the class's bytes have no price: the cost is a lower bound", fmtBytes(r.UnpricedBytesPerHr)))
		}
		for _, l := range [2]struct {
			what string
			cs   []egress.Contributor
		}{{"processes", r.Processes}, {"names", r.Names}} {
			if len(l.cs) == 0 {
				continue
			}
			var parts []string
			for _, c := range l.cs {
				label := c.Label
				if label == "" {
					label = "(unattributed)"
				}
				parts = append(parts, fmt.Sprintf("%s %s (%s)", label, budgetAmount(b, c.PerHour), pct(c.Share)))
			}
			f.Reasons = append(f.Reasons, "by "+l.what+": "+strings.Join(parts, ", "))
		}
		out = append(out, f)
	}
	return out
}

// budgetAmount formats an amount per hour in the budget's measure.
func budgetAmount(b egress.Budget, perHour float64) string {
	if b.Measure == egress.MeasureCost {
		s := fmt.Sprintf("%.2f", perHour)
		if b.Currency != "" {
			s += " " + b.Currency
		}
		return s + "/h"
	}
	return fmtBytes(perHour) + "/h"
}

// fmtBytes formats a byte count with SI prefixes, e.g. "62.5 GB".
func fmtBytes(v float64) string {
	for _, u := range []string{"B", "kB", "MB", "GB", "TB"} {
		if v < 1000 || u == "TB" {
			return fmt.Sprintf("%.3g %s", v, u)
		}
		v /= 1000
	}
	return ""
}
