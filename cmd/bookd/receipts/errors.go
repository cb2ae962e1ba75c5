package receipts

import "errors"

// permanentError is work that can never succeed: the message should be
// dead-lettered now rather than tried again.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// Permanent marks err as one no retry can cure (an SMTP 5xx, an address
// that is not one, a booking that does not exist).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked
// Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// fatalError is a fault of the worker's own setup (credentials the server
// would see in clear, a journal it cannot write): no message can be
// handled until an operator fixes it.
type fatalError struct{ error }

func (e fatalError) Unwrap() error { return e.error }

// IsFatal reports whether err says the worker should stop.
func IsFatal(err error) bool {
	var f fatalError
	return errors.As(err, &f)
}
