package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CookieName is the name of the guest session cookie.
const CookieName = "bookd_session"

// sessionVersion starts every session payload, so the format can change.
const sessionVersion = "s1"

// guestIDLen is the length of a guest id: the prefix and 16 random bytes
// in unpadded base64url.
var guestIDLen = len(GuestPrefix) + b64.EncodedLen(16)

// maxCookieBytes bounds a session cookie value worth decoding.
const maxCookieBytes = 256

// newGuestID returns a fresh guest customer id.
func newGuestID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: see crypto/rand.Read
	return GuestPrefix + b64.EncodeToString(b[:])
}

// issueSession starts a guest session for a fresh guest id, setting its
// cookie on w.
func (v *Verifier) issueSession(w http.ResponseWriter, r *http.Request) Identity {
	id := newGuestID()
	payload := sessionVersion + "|" + id + "|" + strconv.FormatInt(v.now().Unix(), 10)
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(v.sessionMAC([]byte(payload))),
		Path:     "/",
		MaxAge:   int(v.sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   v.secure || r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	return Identity{CustomerID: id, Guest: true}
}

// readSession returns the guest id of the first valid, unexpired session
// cookie r carries. Trying each cookie of the name means a stale cookie
// planted for a parent domain cannot hide the real one.
func (v *Verifier) readSession(r *http.Request) (string, bool) {
	for _, c := range r.CookiesNamed(CookieName) {
		if id, ok := v.parseSession(c.Value); ok {
			return id, true
		}
	}
	return "", false
}

// parseSession checks a session cookie value's MAC, format and age.
func (v *Verifier) parseSession(value string) (string, bool) {
	if len(value) > maxCookieBytes {
		return "", false
	}
	p64, m64, ok := strings.Cut(value, ".")
	if !ok {
		return "", false
	}
	payload, err1 := b64.DecodeString(p64)
	mac, err2 := b64.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, v.sessionMAC(payload)) {
		return "", false
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 3 || parts[0] != sessionVersion ||
		!strings.HasPrefix(parts[1], GuestPrefix) || len(parts[1]) != guestIDLen {
		return "", false
	}
	issued, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", false
	}
	age := v.now().Sub(time.Unix(issued, 0))
	if age >= v.sessionTTL || age < -v.leeway {
		return "", false
	}
	return parts[1], true
}

func (v *Verifier) sessionMAC(payload []byte) []byte {
	h := hmac.New(sha256.New, v.sessionKey)
	h.Write(payload)
	return h.Sum(nil)
}
