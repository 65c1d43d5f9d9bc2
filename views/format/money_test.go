package format

import "testing"

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		amount, unpriced, all float64
		currency, want        string
	}{
		{0, 0, 0, "USD", "0"},
		{0.324, 0, 3.6e9, "", "0.324"},
		{0.324, 0, 3.6e9, "USD", "0.324 USD"},
		{0.09, 1e9, 2e9, "", ">=0.0900"},
		{0, 2e9, 2e9, "USD", "-"},
		{0, 2e9 * (1 - 1e-12), 2e9, "", "-"}, // rounding of summed rates
		{1.5, 0, 1, "E\x1b[2JUR", "1.50 E?[2JUR"},
		{0.0000602, 0, 1, "", "0.0000602"},
		{1234.5678, 0, 1, "", "1234.57"},
	} {
		if got := Money(tc.amount, tc.unpriced, tc.all, tc.currency); got != tc.want {
			t.Errorf("Money(%v, %v, %v, %q) = %q, want %q", tc.amount, tc.unpriced, tc.all, tc.currency, got, tc.want)
		}
	}
}
