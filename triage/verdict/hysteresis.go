package verdict

import (
	"fmt"
)

// Hold applies hysteresis for a verdict computed continuously (the TUI
// banner): a direction that was saturated in prev stays saturated while its
// utilisation in next is at least CritUtilization − Hysteresis, and a
// warning holds while utilisation is at least WarnUtilization − Hysteresis.
// Directions are matched by interface name. next is not modified; the
// result shares nothing mutable with it.
func Hold(prev, next Report, cfg Thresholds) Report {
	out := next
	out.Interfaces = make([]IfaceReport, len(next.Interfaces))
	copy(out.Interfaces, next.Interfaces)
	prevByName := make(map[string]*IfaceReport, len(prev.Interfaces))
	for i := range prev.Interfaces {
		prevByName[prev.Interfaces[i].Name] = &prev.Interfaces[i]
	}
	h := cfg.Hysteresis
	for i := range out.Interfaces {
		p, ok := prevByName[out.Interfaces[i].Name]
		if !ok {
			continue
		}
		for _, d := range []Direction{RX, TX} {
			pd, nd := p.Dir(d), out.Interfaces[i].Dir(d)
			if nd.Utilization == nil || nd.Verdict == Unknown || nd.Verdict == Removed {
				continue
			}
			u := *nd.Utilization
			switch {
			case pd.Verdict == Saturated && nd.Verdict != Saturated && u >= cfg.CritUtilization-h:
				nd.Verdict, nd.Status = Saturated, StatusCritical
				nd.Reasons = append(append([]string{}, nd.Reasons...), fmt.Sprintf("held saturated: utilisation %s has not fallen below %s (critical threshold minus hysteresis)", pct(u), pct(cfg.CritUtilization-h)))
			case pd.Status == StatusWarning && nd.Status == StatusOK && u >= cfg.WarnUtilization-h:
				nd.Status = StatusWarning
				nd.Reasons = append(append([]string{}, nd.Reasons...), fmt.Sprintf("warning held: utilisation %s has not fallen below %s (warning threshold minus hysteresis)", pct(u), pct(cfg.WarnUtilization-h)))
			}
		}
	}
	finish(&out)
	return out
}
