package receipts

import "github.com/bookd/bookd/cmd/bookd/money"

// moneyOf writes an amount in minor units of the currency cur in major
// units, then the code: 5700 EUR is "57.00 EUR" (see package money).
func moneyOf(amount int64, cur string) string {
	return money.Decimal(amount, cur) + " " + clean(cur)
}
