package format

import (
	"math"
	"strconv"
)

// AllUnpriced reports whether unpriced is all of all: every byte (or byte
// per hour) of a cost lacked a price. Rates are sums of floating-point
// terms, so the two are compared within rounding.
func AllUnpriced(unpriced, all float64) bool { return unpriced >= all*(1-1e-9) }

// Money formats a cost of all bytes (or bytes per hour), unpriced of which
// had no price: the amount (AmountText) when every byte was priced,
// ">=amount" (a lower bound) when some were not, "-" when none was, "0"
// when there were no bytes. It never shows a number that assumes a price.
// A non-empty currency (a label: nothing is converted) follows the amount,
// sanitised.
func Money(amount, unpriced, all float64, currency string) string {
	switch {
	case all == 0:
		return "0"
	case AllUnpriced(unpriced, all):
		return "-"
	}
	s := AmountText(amount)
	if c := Sanitize(currency, 8); c != "" {
		s += " " + c
	}
	if unpriced > 0 {
		return ">=" + s
	}
	return s
}

// AmountText shows an amount of money with two decimals, or with three
// significant digits when smaller than 1 (0.0541, 0.0000602): egress
// costs of a few seconds are fractions of a cent.
func AmountText(v float64) string {
	dec := 2
	if v > 0 && v < 1 {
		dec = min(max(2, 2-int(math.Floor(math.Log10(v)))), 12)
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}
