// Package money shows amounts kept in minor units (bookd's prices, totals
// and refunds) in major units, for the CLI and the receipts worker alike.
//
// A currency's number of decimals is golang.org/x/text's standard rounding
// (CLDR's): 2 for EUR, 0 for JPY, 3 for BHD. Where CLDR and ISO 4217
// disagree (COP, IDR, PKR: CLDR shows 0 decimals, ISO 4217 and Stripe
// count 2), an amount shows as CLDR says.
package money

import (
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// Decimal shows an amount in minor units of the ISO 4217 currency cur in
// major units: 5700 EUR is "57.00", 1200 JPY "1200", 12345 BHD "12.345". A
// code x/text does not know (or "") gets 2 decimals.
func Decimal(amount int64, cur string) string {
	scale := 2
	if u, err := currency.ParseISO(cur); err == nil {
		scale, _ = currency.Standard.Rounding(u)
	}
	sign := ""
	digits := strconv.FormatUint(uint64(amount), 10)
	if amount < 0 {
		sign, digits = "-", strconv.FormatUint(-uint64(amount), 10)
	}
	if scale == 0 {
		return sign + digits
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}
