package fsm

import (
	"crypto/subtle"
	"encoding/base64"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
)

// Object secrets. A hold, booking or waitlist entry carries a client_secret
// that proves a right to it without proving who one is (a link in an
// e-mail). Its bytes are chosen by the leader before proposing (Command.
// secret), never here: the state machine only copies them, so every replica
// stores the same secret.

// SecretBytes is how many random bytes a client secret has: 128 bits.
const SecretBytes = 16

// NeedsSecret reports whether c creates an object that carries a client
// secret, so the leader must choose one for it.
func NeedsSecret(c *Command) bool {
	switch c.Op.(type) {
	case *fsmv1.Command_Hold, *fsmv1.Command_Book, *fsmv1.Command_JoinWaitlist:
		return true
	}
	return false
}

// clientSecret renders a command's secret bytes as the objects carry them;
// a command without (written before secrets) gives objects none.
func clientSecret(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// SecretMatches reports, in constant time, whether presented is an object's
// stored secret. An object without a secret matches nothing.
func SecretMatches(stored, presented string) bool {
	return stored != "" && subtle.ConstantTimeCompare([]byte(stored), []byte(presented)) == 1
}

// CheckSecret is the rule for a request that presents a client_secret with
// an object's id: none presented passes (trusted callers act by id); a
// wrong one is answered exactly as a missing object would be, so a
// stranger learns nothing of the object. what names it ("hold hd_7").
func CheckSecret(what, stored, presented string) *Error {
	if presented == "" || SecretMatches(stored, presented) {
		return nil
	}
	return notFound("%s not found", what)
}
