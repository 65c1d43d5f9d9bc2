package egress

import (
	"math"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBudgets(t *testing.T) {
	tests := []struct {
		in   string
		want []Budget
	}{
		{"internet=50GB/h", []Budget{{Class: ClassInternet, Measure: MeasureSent, WarnPerHour: 40e9, LimitPerHour: 50e9}}},
		{" internet = 40GB/h : 50GB/h ", []Budget{{Class: ClassInternet, Measure: MeasureSent, WarnPerHour: 40e9, LimitPerHour: 50e9}}},
		{"all=1TiB/d", []Budget{{Class: ClassAll, Measure: MeasureSent, WarnPerHour: 0.8 * (1 << 40) / 24, LimitPerHour: (1 << 40) / 24.0}}},
		{"cross-region=10MB/s", []Budget{{Class: ClassCrossRegion, Measure: MeasureSent, WarnPerHour: 0.8 * 36e9, LimitPerHour: 36e9}}},
		{"internet=2.5/h", []Budget{{Class: ClassInternet, Measure: MeasureCost, WarnPerHour: 2, LimitPerHour: 2.5}}},
		{"internet=$2.50/h", []Budget{{Class: ClassInternet, Measure: MeasureCost, WarnPerHour: 2, LimitPerHour: 2.5}}},
		{"internet=1USD/min", []Budget{{Class: ClassInternet, Measure: MeasureCost, WarnPerHour: 48, LimitPerHour: 60, Currency: "USD"}}},
		{"internet=€1:2EUR/h", []Budget{{Class: ClassInternet, Measure: MeasureCost, WarnPerHour: 1, LimitPerHour: 2, Currency: "EUR"}}},
		{"internet=50GB/h,internet=3/h,vpn=1kB/s", []Budget{
			{Class: ClassInternet, Measure: MeasureSent, WarnPerHour: 40e9, LimitPerHour: 50e9},
			{Class: ClassInternet, Measure: MeasureCost, WarnPerHour: 2.4, LimitPerHour: 3},
			{Class: ClassVPN, Measure: MeasureSent, WarnPerHour: 0.8 * 3.6e6, LimitPerHour: 3.6e6},
		}},
		{"internet=40GB:50GB/h", []Budget{{Class: ClassInternet, Measure: MeasureSent, WarnPerHour: 40e9, LimitPerHour: 50e9}}},
		{"internet=.5GB/h", []Budget{{Class: ClassInternet, Measure: MeasureSent, WarnPerHour: 0.4e9, LimitPerHour: 0.5e9}}},
	}
	approx := cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) })
	for _, tc := range tests {
		got, err := ParseBudgets(tc.in, 0.8)
		if err != nil {
			t.Errorf("ParseBudgets(%q): %v", tc.in, err)
			continue
		}
		if d := cmp.Diff(tc.want, got, approx); d != "" {
			t.Errorf("ParseBudgets(%q) (-want +got):\n%s", tc.in, d)
		}
	}
}

func TestParseBudgetErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{"internet", "want CLASS=LIMIT"},
		{"Internet=5GB/h", "not a class name"},
		{"internet=50GB", "no period"},
		{"internet=50GB/week", "not a period"},
		{"internet=50Gb/h", "bits are not a budget"},
		{"internet=50Gbit/h", "bits are not a budget"},
		{"internet=50gb/h", "bits are not a budget"},
		{"internet=50XB/h", "unknown unit"},
		{"internet=$50GB/h", "currency symbol before a byte amount"},
		{"internet=0GB/h", "out of range"},
		{"internet=GB/h", "not a number"},
		{"internet=./h", "not a number"},
		{"internet=1e9B/h", "unknown unit"},
		{"internet=60GB/h:50GB/h", "warning is above the limit"},
		{"internet=1/h:50GB/h", "not both bytes or both a cost"},
		{"internet=1USD/h:2EUR/h", "different currencies"},
		{"internet=50GB/h,internet=40GB/h", "budget 2: class internet has a sent budget already"},
		{"internet=50GB/h,", "budget 2"},
		{strings.Repeat("a=1/h,", 65), "more than 64"},
	}
	for _, tc := range tests {
		_, err := ParseBudgets(tc.in, 0.8)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseBudgets(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
	if _, err := ParseBudgets("internet=1/h", 0); err == nil {
		t.Error("warning share 0 accepted")
	}
	// A budget read from a config file that is not one: the error must
	// not quote it.
	_, err := ParseBudgets("root=$y$SECRET/h", 0.8)
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %v quotes the text", err)
	}
}

func TestEvaluateBudgets(t *testing.T) {
	tab, err := NewTable(testRules())
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	// 10 MB/s to the internet (36 GB/h): backup 6, curl 3, tiny 1.
	rows := []Row{
		{Remote: a("8.8.8.8"), Process: "backup", Name: "backup.example", SentRate: 6e6},
		{Remote: a("8.8.4.4"), Process: "curl", Name: "dns.google", SentRate: 3e6},
		{Remote: a("1.1.1.1"), Process: "tiny", Name: "one.one", SentRate: 1e6, ReceivedRate: 5e6},
		{Remote: a("10.20.0.1"), Process: "db", SentRate: 1e6},
		{Remote: a("3.250.0.1"), Process: "db", SentRate: 1e6},
	}
	parse := func(s string) []Budget {
		t.Helper()
		b, err := ParseBudgets(s, 0.8)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	p := testPrices()
	opt := BudgetOptions{ExplainShare: 0.8}
	tests := []struct {
		budget string
		prices Prices
		state  BudgetState
		per    float64
		procs  []string
	}{
		{"internet=50GB/h", p, BudgetOK, 36e9, []string{"backup", "curl"}},
		{"internet=40GB/h", p, BudgetWarning, 36e9, []string{"backup", "curl"}},
		{"internet=36GB/h", p, BudgetCritical, 36e9, []string{"backup", "curl"}},
		{"all=40GB/h", p, BudgetCritical, 43.2e9, []string{"backup", "curl", "db"}},
		{"peering=1GB/h", p, BudgetCritical, 3.6e9, []string{"db"}},
		// 36 GB/h × 0.09 = 3.24/h; received is priced at 0.
		{"internet=4/h", p, BudgetWarning, 3.24, []string{"backup", "curl"}},
		{"internet=3/h", p, BudgetCritical, 3.24, []string{"backup", "curl"}},
		{"internet=10/h", p, BudgetOK, 3.24, []string{"backup", "curl"}},
		{"internet=10EUR/h", p, BudgetUnknown, 3.24, []string{"backup", "curl"}},
		// peering has no price: unknown, never zero.
		{"peering=1/h", p, BudgetUnknown, 0, nil},
		// cross-region: db at 3.6 GB/h × 0.02 = 0.072/h.
		{"cross-region=0.05/h", p, BudgetCritical, 0.072, []string{"db"}},
		{"internet=1/h", Prices{}, BudgetUnknown, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.budget, func(t *testing.T) {
			rs := EvaluateBudgets(parse(tc.budget), rows, tab, tc.prices, opt)
			if len(rs) != 1 {
				t.Fatalf("%d results", len(rs))
			}
			r := rs[0]
			if r.State != tc.state || !near(r.PerHour, tc.per) {
				t.Errorf("state %v per hour %v, want %v %v", r.State, r.PerHour, tc.state, tc.per)
			}
			var procs []string
			for _, c := range r.Processes {
				procs = append(procs, c.Label)
			}
			if d := cmp.Diff(tc.procs, procs); d != "" {
				t.Errorf("processes (-want +got):\n%s", d)
			}
		})
	}
	rs := EvaluateBudgets(parse("internet=40GB/h"), rows, tab, p, BudgetOptions{ExplainShare: 1, MaxNamed: 2})
	if n := rs[0].Names; len(n) != 2 || n[0].Label != "backup.example" || !near(n[0].Share, 0.6) {
		t.Errorf("names = %+v", n)
	}
	if w := Worst(EvaluateBudgets(parse("internet=50GB/h,peering=1/h,cross-region=1GB/h"), rows, tab, p, opt)); w != BudgetCritical {
		t.Errorf("Worst = %v", w)
	}
	if w := Worst(nil); w != BudgetOK {
		t.Errorf("Worst(nil) = %v", w)
	}
}

func FuzzParseBudgets(f *testing.F) {
	for _, s := range []string{"internet=50GB/h", "internet=40GB/h:50GB/h", "all=$2.5/h", "a=1USD/min,b=1TiB/d", "x=€.5:1EUR/s", "=", ":/", "a=1e9/h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bs, err := ParseBudgets(s, 0.8)
		if err != nil {
			return
		}
		if len(bs) == 0 || len(bs) > maxBudgets {
			t.Fatalf("%d budgets", len(bs))
		}
		for _, b := range bs {
			if !(b.WarnPerHour > 0) || b.WarnPerHour > b.LimitPerHour || math.IsInf(b.LimitPerHour, 0) {
				t.Fatalf("budget %+v out of range", b)
			}
			if b.Class != ClassAll && !ValidClass(string(b.Class)) {
				t.Fatalf("class %q", b.Class)
			}
		}
	})
}
