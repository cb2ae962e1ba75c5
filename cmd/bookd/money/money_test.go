package money

import (
	"math"
	"testing"
)

func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		cur    string
		want   string
	}{
		{5700, "EUR", "57.00"},
		{5, "EUR", "0.05"},
		{0, "EUR", "0.00"},
		{-250, "EUR", "-2.50"},
		{1200, "JPY", "1200"},
		{12345, "BHD", "12.345"},
		{7, "KWD", "0.007"},
		{199, "", "1.99"},
		{199, "ZZZ", "1.99"},
		{math.MinInt64, "JPY", "-9223372036854775808"},
	} {
		if got := Decimal(tc.amount, tc.cur); got != tc.want {
			t.Errorf("Decimal(%d, %q) = %q, want %q", tc.amount, tc.cur, got, tc.want)
		}
	}
}
