package waitroom

import (
	"errors"
	"fmt"
	"time"
)

// Config sets up the waiting room of one event.
type Config struct {
	EventID string `json:"event_id"`
	// OnSale is when admission starts. People who arrive before it are
	// shuffled into a random order at it; zero means on sale now.
	OnSale time.Time `json:"on_sale"`
	// Rate is how many people a second are admitted (> 0).
	Rate float64 `json:"rate"`
	// MaxActive caps how many admitted people shop at once (0: no cap). An
	// admission counts until it runs out (AdmitFor), its shopper finishes
	// (Rooms.Finish) or its shopper goes idle (IdleFor).
	MaxActive int `json:"max_active"`
	// AdmitFor is how long an admission token lasts (default 10 minutes).
	AdmitFor time.Duration `json:"admit_for"`
	// HoldsPerAdmission is how many holds one admission token may place
	// (default 1); the state machine counts them.
	HoldsPerAdmission int `json:"holds_per_admission"`
	// TicketsPerAdmission bounds the tickets those holds add up to (0: no
	// bound beyond the event's own limits).
	TicketsPerAdmission int `json:"tickets_per_admission"`
	// IdleFor is how long an admitted shopper keeps the place with no
	// activity (a status poll, Rooms.Check or Rooms.Touch); default 2
	// minutes.
	IdleFor time.Duration `json:"idle_for"`
	// TicketTimeout is how long a ticket that waits (in the pre-queue or
	// the queue) is kept without a status poll; default 1 minute.
	TicketTimeout time.Duration `json:"ticket_timeout"`
}

// Defaults of the Config settings left zero.
const (
	DefaultAdmitFor          = 10 * time.Minute
	DefaultHoldsPerAdmission = 1
	DefaultIdleFor           = 2 * time.Minute
	DefaultTicketTimeout     = time.Minute
)

// check validates c and fills in the defaults; errors name the field.
func (c *Config) check() error {
	switch {
	case c.EventID == "":
		return errors.New("event_id: required")
	case !(c.Rate > 0) || c.Rate > 1e6:
		return fmt.Errorf("rate: %v is not between 0 (exclusive) and 1,000,000 admissions a second", c.Rate)
	case c.MaxActive < 0:
		return fmt.Errorf("max_active: %d is negative", c.MaxActive)
	case c.AdmitFor < 0:
		return fmt.Errorf("admit_for: %v is negative", c.AdmitFor)
	case c.HoldsPerAdmission < 0:
		return fmt.Errorf("holds_per_admission: %d is negative", c.HoldsPerAdmission)
	case c.TicketsPerAdmission < 0:
		return fmt.Errorf("tickets_per_admission: %d is negative", c.TicketsPerAdmission)
	case c.IdleFor < 0:
		return fmt.Errorf("idle_for: %v is negative", c.IdleFor)
	case c.TicketTimeout < 0:
		return fmt.Errorf("ticket_timeout: %v is negative", c.TicketTimeout)
	}
	if c.AdmitFor == 0 {
		c.AdmitFor = DefaultAdmitFor
	}
	if c.HoldsPerAdmission == 0 {
		c.HoldsPerAdmission = DefaultHoldsPerAdmission
	}
	if c.IdleFor == 0 {
		c.IdleFor = DefaultIdleFor
	}
	if c.TicketTimeout == 0 {
		c.TicketTimeout = DefaultTicketTimeout
	}
	return nil
}
