package receipts

import (
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// money writes an amount in minor units of the ISO 4217 currency cur in
// major units, with as many decimals as golang.org/x/text's standard
// rounding gives the currency (CLDR's, the bookd CLI's too), then the
// code: 5700 EUR is "57.00 EUR", 1200 JPY "1200 JPY", 12345 BHD
// "12.345 BHD". A code x/text does not know gets 2 decimals.
func money(amount int64, cur string) string {
	scale := 2
	if u, err := currency.ParseISO(cur); err == nil {
		scale, _ = currency.Standard.Rounding(u)
	}
	sign := ""
	if amount < 0 {
		sign = "-"
	}
	digits := strconv.FormatUint(uint64(amount), 10)
	if amount < 0 {
		digits = strconv.FormatUint(-uint64(amount), 10)
	}
	if scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	return sign + digits + " " + clean(cur)
}
