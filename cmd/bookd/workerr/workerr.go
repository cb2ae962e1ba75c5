// Package workerr marks the errors of the reference workers (`bookd worker
// receipts|payments`) by what the queue should do with the message: a
// Permanent error dead-letters it now (the runtime's client.GiveUp), a
// Fatal one is the worker's own fault and stops the worker, anything else
// is tried again after the queue's backoff.
package workerr

import "errors"

type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// Permanent marks err as one no retry can cure (an SMTP 5xx, an address
// that is not one, a payment that is not this booking's).
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

type fatalError struct{ error }

func (e fatalError) Unwrap() error { return e.error }

// Fatal marks err as a fault of the worker's own setup (credentials the
// server would see in clear or refuses, a journal it cannot write): no
// message can be handled until an operator fixes it, so the worker should
// stop rather than spend every message's attempts.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return fatalError{err}
}

// IsFatal reports whether err, or an error it wraps, was marked Fatal.
func IsFatal(err error) bool {
	var f fatalError
	return errors.As(err, &f)
}
