package coalesce

import "fmt"

// CountError says a send answered a number of outcomes other than the
// number of items it was given: every item of the batch gets it, since
// which outcome is whose is not known.
type CountError struct{ Sent, Got int }

func (e *CountError) Error() string {
	return fmt.Sprintf("coalesce: %d outcomes for a batch of %d", e.Got, e.Sent)
}
