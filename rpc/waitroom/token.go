package waitroom

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bookd/bookd/fsm"
)

// Errors of Verify.
var (
	// ErrBadToken: the token is malformed or not signed with this secret.
	ErrBadToken = errors.New("waitroom: admission token is malformed or not signed with this secret")
	// ErrExpired: the token's admission has run out.
	ErrExpired = errors.New("waitroom: admission token has expired; join the waiting room again")
	// ErrWrongEvent: the token admits to another event.
	ErrWrongEvent = errors.New("waitroom: admission token is for another event")
	// ErrWrongCustomer: the token was issued to another customer.
	ErrWrongCustomer = errors.New("waitroom: admission token was issued to another customer")
)

// MinSecretBytes is the shortest secret NewSigner accepts.
const MinSecretBytes = 16

// Signer signs and verifies admission tokens with a secret shared by every
// edge that needs to check them. A token is fsm.AdmissionPayload of its
// grant, a dot, and the base64url HMAC-SHA256 of that payload: the state
// machine reads the grant (fsm.DecodeAdmissionToken) without the secret.
type Signer struct{ key []byte }

// NewSigner returns a Signer for secret, which must be at least
// MinSecretBytes long.
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("waitroom: secret of %d bytes is shorter than %d", len(secret), MinSecretBytes)
	}
	return &Signer{key: append([]byte(nil), secret...)}, nil
}

// Sign returns the token that states g.
func (s *Signer) Sign(g *fsm.AdmissionGrant) string {
	payload := fsm.AdmissionPayload(g)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

// Verify checks that token was signed with this secret, states a complete
// grant, admits to eventID, was issued to customerID and has not expired at
// now, and returns the grant. The error is ErrBadToken (possibly wrapped),
// ErrWrongEvent, ErrWrongCustomer or ErrExpired, checked in that order; on
// error the grant is nil.
func (s *Signer) Verify(token, eventID, customerID string, now time.Time) (*fsm.AdmissionGrant, error) {
	if len(token) > fsm.MaxAdmissionTokenLen {
		return nil, ErrBadToken
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return nil, ErrBadToken
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(payload)) {
		return nil, ErrBadToken
	}
	g, err := fsm.DecodeAdmissionToken(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	switch {
	case g.GetEventId() != eventID:
		return nil, ErrWrongEvent
	case g.GetCustomerId() != customerID:
		return nil, ErrWrongCustomer
	case !now.Before(time.UnixMilli(g.GetExpiresUnixMs())):
		return nil, ErrExpired
	}
	return g, nil
}

func (s *Signer) mac(payload string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(payload))
	return h.Sum(nil)
}
