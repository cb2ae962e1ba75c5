package waitroom

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Errors of Verify.
var (
	ErrBadToken   = errors.New("waitroom: admission token is malformed or not signed with this secret")
	ErrExpired    = errors.New("waitroom: admission token has expired; join the waiting room again")
	ErrWrongEvent = errors.New("waitroom: admission token is for another event")
)

// MinSecretBytes is the shortest secret NewSigner accepts.
const MinSecretBytes = 16

// Signer signs and verifies admission tokens with a secret shared by every
// edge and node that needs to check them.
type Signer struct{ key []byte }

// NewSigner returns a Signer for secret, which must be at least
// MinSecretBytes long.
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("waitroom: secret of %d bytes is shorter than %d", len(secret), MinSecretBytes)
	}
	return &Signer{key: append([]byte(nil), secret...)}, nil
}

// Admission is what a token states: Ticket may shop EventID until Expires.
type Admission struct {
	EventID string
	Ticket  string
	Expires time.Time
}

const tokenVersion = "v1"

// Sign returns the token for a.
func (s *Signer) Sign(a Admission) string {
	payload := strings.Join([]string{tokenVersion, a.EventID, a.Ticket, strconv.FormatInt(a.Expires.UnixMilli(), 10)}, "|")
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(s.mac([]byte(payload)))
}

// Verify checks that token was signed with this secret, is for eventID and
// has not expired at now, and returns what it states.
func (s *Signer) Verify(token, eventID string, now time.Time) (Admission, error) {
	enc := base64.RawURLEncoding
	p64, m64, ok := strings.Cut(token, ".")
	if !ok {
		return Admission{}, ErrBadToken
	}
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(payload)) {
		return Admission{}, ErrBadToken
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 4 || parts[0] != tokenVersion {
		return Admission{}, ErrBadToken
	}
	ms, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return Admission{}, ErrBadToken
	}
	a := Admission{EventID: parts[1], Ticket: parts[2], Expires: time.UnixMilli(ms)}
	switch {
	case a.EventID != eventID:
		return a, ErrWrongEvent
	case !now.Before(a.Expires):
		return a, ErrExpired
	}
	return a, nil
}

func (s *Signer) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write(payload)
	return h.Sum(nil)
}
