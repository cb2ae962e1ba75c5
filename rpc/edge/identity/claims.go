package identity

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxCustomerIDBytes bounds a token's sub claim, the customer id.
const MaxCustomerIDBytes = 128

// checkClaims checks a signed token's claims at the Verifier's clock and
// returns its sub.
func (v *Verifier) checkClaims(c map[string]json.RawMessage) (string, error) {
	sub, ok := stringMember(c, "sub")
	if !ok || sub == "" {
		return "", refuse("claim sub is missing or not a string")
	}
	if err := checkCustomerID(sub); err != nil {
		return "", err
	}

	now := float64(v.now().UnixNano()) / float64(time.Second)
	leeway := v.leeway.Seconds()
	exp, ok, err := numericDate(c, "exp")
	switch {
	case err != nil:
		return "", err
	case !ok:
		return "", refuse("claim exp is missing")
	case now >= exp+leeway:
		return "", refuse("token has expired")
	}
	if nbf, ok, err := numericDate(c, "nbf"); err != nil {
		return "", err
	} else if ok && now+leeway < nbf {
		return "", refuse("token is not valid yet (nbf)")
	}
	if iat, ok, err := numericDate(c, "iat"); err != nil {
		return "", err
	} else if ok && iat > now+leeway {
		return "", refuse("token was issued in the future (iat)")
	}

	if v.issuer != "" {
		if iss, _ := stringMember(c, "iss"); iss != v.issuer {
			return "", refuse("claim iss is not %q", v.issuer)
		}
	}
	if v.audience != "" && !hasAudience(c["aud"], v.audience) {
		return "", refuse("claim aud does not include %q", v.audience)
	}
	return sub, nil
}

// checkCustomerID refuses a sub that is too long, not printable UTF-8, or
// in the guest id space.
func checkCustomerID(sub string) error {
	if len(sub) > MaxCustomerIDBytes {
		return refuse("claim sub is %d bytes; the limit is %d", len(sub), MaxCustomerIDBytes)
	}
	if !utf8.ValidString(sub) || strings.IndexFunc(sub, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return refuse("claim sub holds a character that is not printable UTF-8")
	}
	if len(sub) >= len(GuestPrefix) && strings.EqualFold(sub[:len(GuestPrefix)], GuestPrefix) {
		return refuse("claim sub starts with %q, which is reserved for guests", GuestPrefix)
	}
	return nil
}

// numericDate reads an optional NumericDate claim in seconds since the
// epoch; ok is false when the claim is absent.
func numericDate(c map[string]json.RawMessage, name string) (secs float64, ok bool, err error) {
	raw, ok := c[name]
	if !ok {
		return 0, false, nil
	}
	if err := json.Unmarshal(raw, &secs); err != nil || string(raw) == "null" {
		return 0, false, refuse("claim %s is not a number of seconds", name)
	}
	return secs, true, nil
}

// hasAudience reports whether the aud claim raw, a string or an array of
// strings, includes want.
func hasAudience(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil && string(raw) != "null" {
		return one == want
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && slices.Contains(many, want)
}
