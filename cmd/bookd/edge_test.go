package main

import (
	"strings"
	"testing"
)

// Bad `bookd edge` settings are refused before anything starts, with exit
// code 2 and a message naming the flag.
func TestEdgeFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"edge", "--room", "ev1,10"}, "--secret"},
		{[]string{"edge", "--secret", "short", "--room", "ev1,10"}, "--secret"},
		{[]string{"edge", "--secret", "0123456789abcdef!", "--room", "ev1"}, "--room"},
		{[]string{"edge", "--secret", "0123456789abcdef!", "--room", "ev1,fast"}, "rate"},
		{[]string{"edge", "--client-rate", "-1"}, "--client-rate"},
		{[]string{"edge", "--max-holds-in-flight", "-5"}, "--max-holds-in-flight"},
		{[]string{"edge", "--voucher-refusals", "0"}, "--voucher-refusals"},
		{[]string{"edge", "--voucher-window", "10s"}, "--voucher-window"},
		{[]string{"edge", "--batch-writes", "-1"}, "--batch-writes"},
		{[]string{"edge", "--batch-writes", "1001"}, "--batch-writes"},
		{[]string{"dev", "--batch-writes", "5000"}, "--batch-writes"},
		{[]string{"edge", "--endpoints", "", "--listen", "127.0.0.1:0"}, "--endpoints"},
	} {
		out, code := run(t, tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("bookd %s: exit %d, %q; want exit 2 naming %s", strings.Join(tc.args, " "), code, out, tc.want)
		}
	}
}
