package egress

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Measure is what a budget limits.
type Measure uint8

// Measures of a budget.
const (
	// MeasureSent: bytes sent (host to remote) per hour.
	MeasureSent Measure = iota
	// MeasureCost: cost per hour, both directions, in the prices'
	// currency.
	MeasureCost
)

// String returns "sent" or "cost".
func (m Measure) String() string {
	if m == MeasureCost {
		return "cost"
	}
	return "sent"
}

// Budget limits one class's (or all classes') egress per hour. Above Warn
// it warns; at or above Limit it is critical, as the utilisation
// thresholds of check are.
type Budget struct {
	// Class is the class budgeted, or ClassAll.
	Class   Class
	Measure Measure
	// WarnPerHour and LimitPerHour are bytes per hour (MeasureSent) or
	// money per hour (MeasureCost); 0 < WarnPerHour ≤ LimitPerHour.
	WarnPerHour, LimitPerHour float64
	// Currency is the currency code given with a cost ("2.5USD/h"), or
	// empty; it must then match the prices' currency.
	Currency string
}

// maxBudgets bounds one flag's list.
const maxBudgets = 64

// ParseBudgets parses a comma-separated list of budgets, each
//
//	CLASS=[WARN:]LIMIT
//
// where CLASS is a class name or "all", and WARN and LIMIT are an amount per
// period in the same measure (a WARN without a period takes LIMIT's):
//
//   - bytes sent: a number and a byte unit, B, kB (or KB), MB, GB, TB, PB
//     (powers of 1000) or KiB, MiB, GiB, TiB, PiB (powers of 1024):
//     "50GB/h", "1.5TiB/d";
//   - a cost: a number, with an optional currency symbol before it ($, €,
//     £, ¥, ignored) or a three-letter currency code after it (checked
//     against the prices' currency): "2.5/h", "$2.50/h", "60EUR/d".
//
// The period is /s, /min, /h or /d. Without WARN the warning is at
// warnShare (0..1] of the limit. A class may have one budget per measure.
// Errors name the budget by its position, never quote the text (it may come
// from a config file).
func ParseBudgets(s string, warnShare float64) ([]Budget, error) {
	if !(warnShare > 0 && warnShare <= 1) {
		return nil, errors.New("budget: the warning share must be above 0 and at most 1")
	}
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("budget: empty (want e.g. internet=50GB/h)")
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxBudgets {
		return nil, fmt.Errorf("budget: more than %d budgets", maxBudgets)
	}
	out := make([]Budget, 0, len(parts))
	for i, part := range parts {
		b, err := parseBudget(strings.TrimSpace(part), warnShare)
		if err != nil {
			return nil, fmt.Errorf("budget %d: %w", i+1, err)
		}
		for _, o := range out {
			if o.Class == b.Class && o.Measure == b.Measure {
				return nil, fmt.Errorf("budget %d: class %s has a %s budget already", i+1, b.Class, b.Measure)
			}
		}
		out = append(out, b)
	}
	return out, nil
}

func parseBudget(s string, warnShare float64) (Budget, error) {
	cls, amount, ok := strings.Cut(s, "=")
	if !ok {
		return Budget{}, errors.New("want CLASS=LIMIT, e.g. internet=50GB/h")
	}
	cls = strings.TrimSpace(cls)
	if cls != string(ClassAll) && !ValidClass(cls) {
		return Budget{}, errors.New("the class before '=' is not a class name (lower case letters, digits and '-') or all")
	}
	b := Budget{Class: Class(cls)}
	warnS, limS, hasWarn := strings.Cut(amount, ":")
	if !hasWarn {
		limS, warnS = warnS, ""
	}
	lim, m, cur, err := parseAmount(limS)
	if err != nil {
		return Budget{}, fmt.Errorf("limit: %w", err)
	}
	b.Measure, b.LimitPerHour, b.Currency = m, lim, cur
	if !hasWarn {
		b.WarnPerHour = lim * warnShare
		return b, nil
	}
	if !strings.Contains(warnS, "/") { // "40GB:50GB/h": the limit's period
		warnS += limS[strings.LastIndexByte(limS, '/'):]
	}
	w, wm, wcur, err := parseAmount(warnS)
	switch {
	case err != nil:
		return Budget{}, fmt.Errorf("warning: %w", err)
	case wm != m:
		return Budget{}, errors.New("the warning and the limit are not both bytes or both a cost")
	case wcur != "" && cur != "" && wcur != cur:
		return Budget{}, errors.New("the warning and the limit are in different currencies")
	case w > lim:
		return Budget{}, errors.New("the warning is above the limit")
	}
	if b.Currency == "" {
		b.Currency = wcur
	}
	b.WarnPerHour = w
	return b, nil
}

// byteUnits are the byte units of a budget, spelt exactly.
var byteUnits = map[string]float64{
	"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50,
}

// parseAmount parses an amount per period and returns it per hour.
func parseAmount(s string) (perHour float64, m Measure, currency string, err error) {
	s = strings.TrimSpace(s)
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return 0, 0, "", errors.New("no period: end with /h (per hour), /min, /s or /d")
	}
	var perHr float64
	switch strings.TrimSpace(s[i+1:]) {
	case "s":
		perHr = 3600
	case "min":
		perHr = 60
	case "h":
		perHr = 1
	case "d":
		perHr = 1.0 / 24
	default:
		return 0, 0, "", errors.New("not a period: use /s, /min, /h or /d")
	}
	s = strings.TrimSpace(s[:i])
	symbol := false
	for _, sym := range []string{"$", "€", "£", "¥"} {
		if rest, ok := strings.CutPrefix(s, sym); ok {
			s, symbol = rest, true
			break
		}
	}
	n := 0
	dot := false
	for n < len(s) && (s[n] >= '0' && s[n] <= '9' || s[n] == '.' && !dot) {
		dot = dot || s[n] == '.'
		n++
	}
	num, unit := s[:n], strings.TrimSpace(s[n:])
	v, perr := strconv.ParseFloat(num, 64)
	if perr != nil || strings.Trim(num, ".") == "" {
		return 0, 0, "", errors.New("not a number followed by a unit (want e.g. 50GB/h or 2.5/h)")
	}
	if !(v > 0) || v > 1e18 || math.IsInf(v, 0) {
		return 0, 0, "", errors.New("out of range (above 0 and at most 10^18)")
	}
	if mult, ok := byteUnits[unit]; ok {
		if symbol {
			return 0, 0, "", errors.New("a currency symbol before a byte amount")
		}
		return v * mult * perHr, MeasureSent, "", nil
	}
	switch {
	case unit == "":
		return v * perHr, MeasureCost, "", nil
	case currencyCode(unit):
		return v * perHr, MeasureCost, unit, nil
	case strings.HasSuffix(unit, "b") || strings.HasSuffix(strings.ToLower(unit), "bit"):
		return 0, 0, "", errors.New("bits are not a budget: give bytes with a capital B (e.g. 50GB/h)")
	}
	return 0, 0, "", errors.New("unknown unit (bytes: B, kB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB; a cost: a bare number or a currency code such as USD)")
}

// currencyCode reports whether s is three capital letters (ISO 4217 form).
func currencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// BudgetState is a budget's verdict.
type BudgetState uint8

// Budget states.
const (
	BudgetOK BudgetState = iota
	BudgetWarning
	BudgetCritical
	// BudgetUnknown: a cost budget that cannot be judged: the priced
	// bytes' cost is below the warning but some bytes have no price, or
	// the budget's currency is not the prices'.
	BudgetUnknown
)

// String returns "ok", "warning", "critical" or "unknown".
func (s BudgetState) String() string {
	switch s {
	case BudgetOK:
		return "ok"
	case BudgetWarning:
		return "warning"
	case BudgetCritical:
		return "critical"
	case BudgetUnknown:
		return "unknown"
	}
	return fmt.Sprintf("budget-state(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s BudgetState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Contributor is one process or name's part of a budget's measure.
type Contributor struct {
	// Label is the process label or the name (NameOf); empty for
	// unattributed traffic.
	Label string
	// PerHour is in the budget's measure.
	PerHour float64
	// Share is PerHour over the class's total (0..1).
	Share float64
}

// BudgetResult is one budget judged.
type BudgetResult struct {
	Budget Budget
	// PerHour is the observed measure: bytes sent per hour, or the cost
	// per hour of the priced bytes.
	PerHour float64
	// UnpricedBytesPerHr is, for a cost budget, the bytes per hour of the
	// class with no price: PerHour is then a lower bound.
	UnpricedBytesPerHr float64
	// CurrencyMismatch: the budget's currency is not the prices'.
	CurrencyMismatch bool
	State            BudgetState
	// Processes and Names are the largest contributors, largest first,
	// until they cover the explain share of PerHour (at most MaxNamed
	// each).
	Processes, Names []Contributor
}

// BudgetOptions tune which contributors a result names.
type BudgetOptions struct {
	// ExplainShare (0..1] of the measure the named contributors must
	// cover (check's explain_share).
	ExplainShare float64
	// MaxNamed caps each list (0: 5).
	MaxNamed int
}

// EvaluateBudgets judges each budget over rows classed by t and priced by
// p, at the rows' rates. A sent budget is critical at or above its limit and
// warns at or above its warning. A cost budget is judged on the priced bytes'
// cost, a lower bound when some bytes have no price: it is critical or
// warns when that lower bound already says so, and is unknown when it would
// otherwise be ok but bytes were left unpriced, or when the currencies differ.
func EvaluateBudgets(bs []Budget, rows []Row, t *Table, p Prices, o BudgetOptions) []BudgetResult {
	if o.MaxNamed <= 0 {
		o.MaxNamed = 5
	}
	if !(o.ExplainShare > 0 && o.ExplainShare <= 1) {
		o.ExplainShare = 1
	}
	classes := make([]Class, len(rows))
	for i := range rows {
		classes[i] = t.Classify(rows[i].Remote).Class
	}
	out := make([]BudgetResult, 0, len(bs))
	for _, b := range bs {
		res := BudgetResult{Budget: b}
		procs, names := map[string]float64{}, map[string]float64{}
		for i := range rows {
			r := &rows[i]
			if b.Class != ClassAll && classes[i] != b.Class {
				continue
			}
			var v float64
			if b.Measure == MeasureSent {
				v = r.SentRate * 3600
			} else {
				h := p.PerHour(classes[i], r.SentRate, r.ReceivedRate)
				v = h.Amount
				res.UnpricedBytesPerHr += h.UnpricedBytesPerHr
			}
			if !(v > 0) {
				continue
			}
			res.PerHour += v
			procs[r.Process] += v
			names[NameOf(r)] += v
		}
		res.CurrencyMismatch = b.Measure == MeasureCost && b.Currency != "" && p.Currency != "" && b.Currency != p.Currency
		switch {
		case res.CurrencyMismatch:
			res.State = BudgetUnknown
		case res.PerHour >= b.LimitPerHour:
			res.State = BudgetCritical
		case res.PerHour >= b.WarnPerHour:
			res.State = BudgetWarning
		case res.UnpricedBytesPerHr > 0:
			res.State = BudgetUnknown
		}
		res.Processes = top(procs, res.PerHour, o)
		res.Names = top(names, res.PerHour, o)
		out = append(out, res)
	}
	return out
}

// Worst returns the most serious state of rs: critical > warning > unknown
// > ok.
func Worst(rs []BudgetResult) BudgetState {
	rank := func(s BudgetState) int {
		switch s {
		case BudgetCritical:
			return 3
		case BudgetWarning:
			return 2
		case BudgetUnknown:
			return 1
		}
		return 0
	}
	w := BudgetOK
	for _, r := range rs {
		if rank(r.State) > rank(w) {
			w = r.State
		}
	}
	return w
}

// top returns the largest contributors of m until they cover the explain
// share of total, at most o.MaxNamed.
func top(m map[string]float64, total float64, o BudgetOptions) []Contributor {
	if !(total > 0) {
		return nil
	}
	cs := make([]Contributor, 0, len(m))
	for l, v := range m {
		cs = append(cs, Contributor{Label: l, PerHour: v, Share: v / total})
	}
	slices.SortFunc(cs, func(a, b Contributor) int {
		return cmp.Or(cmp.Compare(b.PerHour, a.PerHour), cmp.Compare(a.Label, b.Label))
	})
	var covered float64
	for i, c := range cs {
		covered += c.PerHour
		if covered >= o.ExplainShare*total || i+1 == o.MaxNamed {
			return cs[:i+1]
		}
	}
	return cs
}
