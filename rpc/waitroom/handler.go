package waitroom

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// Handler serves the rooms' JSON API, the same for the web page and for API
// clients:
//
//	GET    /waitroom/v1/events/{event}                  the room's settings, or {"gated": false}
//	POST   /waitroom/v1/events/{event}/join             the caller's ticket's Status (a new ticket if it has none)
//	GET    /waitroom/v1/events/{event}/tickets/{ticket} the caller's ticket's Status
//	PUT    /waitroom/v1/rooms/{event}                   create or change a room (operator)
//	DELETE /waitroom/v1/rooms/{event}                   remove a room (operator)
//
// customerOf names the caller of join and ticket calls: a customer id the
// edge has verified. When it fails (or is nil) those calls answer 401
// {"code": "unauthenticated"}. A ticket is answered only to its customer;
// to anyone else it is not found.
//
// Operator calls need "Authorization: Bearer <adminToken>"; with an empty
// adminToken they are refused. Errors are {"code": ..., "message": ...} with
// Connect's code names.
func (rs *Rooms) Handler(adminToken string, customerOf func(*http.Request) (string, error)) http.Handler {
	if customerOf == nil {
		customerOf = func(*http.Request) (string, error) { return "", ErrNoCustomer }
	}
	customer := func(h func(w http.ResponseWriter, r *http.Request, customerID string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, err := customerOf(r)
			if err != nil {
				writeError(w, http.StatusUnauthorized, "unauthenticated", "waiting rooms answer a signed-in customer or a guest session: "+err.Error())
				return
			}
			h(w, r, id)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /waitroom/v1/events/{event}", func(w http.ResponseWriter, r *http.Request) {
		cfg, err := rs.Config(r.PathValue("event"))
		if errors.Is(err, ErrNoRoom) {
			writeJSON(w, http.StatusOK, roomView{EventID: r.PathValue("event")})
			return
		}
		writeJSON(w, http.StatusOK, viewOf(cfg))
	})
	mux.HandleFunc("POST /waitroom/v1/events/{event}/join", customer(func(w http.ResponseWriter, r *http.Request, id string) {
		st, err := rs.Join(r.Context(), r.PathValue("event"), id)
		reply(w, st, err)
	}))
	mux.HandleFunc("GET /waitroom/v1/events/{event}/tickets/{ticket}", customer(func(w http.ResponseWriter, r *http.Request, id string) {
		st, err := rs.Status(r.Context(), r.PathValue("event"), r.PathValue("ticket"), id)
		reply(w, st, err)
	}))
	admin := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if adminToken == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(adminToken)) != 1 {
				writeError(w, http.StatusUnauthorized, "unauthenticated", "operator calls need Authorization: Bearer <admin token>")
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("PUT /waitroom/v1/rooms/{event}", admin(func(w http.ResponseWriter, r *http.Request) {
		var v roomView
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_argument", "body: "+err.Error())
			return
		}
		cfg, err := v.config(r.PathValue("event"))
		if err == nil {
			err = rs.Configure(cfg)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_argument", strings.TrimPrefix(err.Error(), "waitroom: "))
			return
		}
		cfg, _ = rs.Config(cfg.EventID)
		writeJSON(w, http.StatusOK, viewOf(cfg))
	}))
	mux.HandleFunc("DELETE /waitroom/v1/rooms/{event}", admin(func(w http.ResponseWriter, r *http.Request) {
		rs.Remove(r.PathValue("event"))
		writeJSON(w, http.StatusOK, roomView{EventID: r.PathValue("event")})
	}))
	return mux
}

// NoRooms serves the same API for a process without waiting rooms: every
// event is ungated, and there is nothing to join.
func NoRooms() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /waitroom/v1/events/{event}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, roomView{EventID: r.PathValue("event")})
	})
	mux.HandleFunc("/waitroom/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", ErrNoRoom.Error())
	})
	return mux
}

// roomView is a room's settings on the wire. A PUT replaces all of them:
// a setting left out takes its default.
type roomView struct {
	EventID              string     `json:"event_id,omitempty"`
	Gated                bool       `json:"gated"`
	OnSale               *time.Time `json:"on_sale,omitempty"`
	Rate                 float64    `json:"rate,omitempty"`
	MaxActive            int        `json:"max_active,omitempty"`
	AdmitForSeconds      float64    `json:"admit_for_seconds,omitempty"`
	HoldsPerAdmission    int        `json:"holds_per_admission,omitempty"`
	TicketsPerAdmission  *int       `json:"tickets_per_admission,omitempty"` // 0 (no bound) is shown
	IdleSeconds          float64    `json:"idle_seconds,omitempty"`
	TicketTimeoutSeconds float64    `json:"ticket_timeout_seconds,omitempty"`
}

// maxSeconds bounds the durations a PUT may set (about 11.5 days).
const maxSeconds = 1e6

// config reads a PUT body as the settings of eventID's room.
func (v roomView) config(eventID string) (Config, error) {
	cfg := Config{EventID: eventID, Rate: v.Rate, MaxActive: v.MaxActive, HoldsPerAdmission: v.HoldsPerAdmission}
	if v.OnSale != nil {
		cfg.OnSale = *v.OnSale
	}
	if v.TicketsPerAdmission != nil {
		cfg.TicketsPerAdmission = *v.TicketsPerAdmission
	}
	for _, d := range []struct {
		name string
		secs float64
		to   *time.Duration
	}{
		{"admit_for_seconds", v.AdmitForSeconds, &cfg.AdmitFor},
		{"idle_seconds", v.IdleSeconds, &cfg.IdleFor},
		{"ticket_timeout_seconds", v.TicketTimeoutSeconds, &cfg.TicketTimeout},
	} {
		if !(d.secs >= 0 && d.secs <= maxSeconds) {
			return Config{}, fmt.Errorf("%s: %v is not between 0 (default) and %v", d.name, d.secs, maxSeconds)
		}
		*d.to = time.Duration(math.Round(d.secs * float64(time.Second)))
	}
	return cfg, nil
}

func viewOf(cfg Config) roomView {
	tickets := cfg.TicketsPerAdmission
	v := roomView{EventID: cfg.EventID, Gated: true, Rate: cfg.Rate, MaxActive: cfg.MaxActive,
		AdmitForSeconds: cfg.AdmitFor.Seconds(), HoldsPerAdmission: cfg.HoldsPerAdmission,
		TicketsPerAdmission: &tickets, IdleSeconds: cfg.IdleFor.Seconds(),
		TicketTimeoutSeconds: cfg.TicketTimeout.Seconds()}
	if !cfg.OnSale.IsZero() {
		v.OnSale = &cfg.OnSale
	}
	return v
}

func reply(w http.ResponseWriter, st Status, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, st)
	case errors.Is(err, ErrNoCustomer):
		writeError(w, http.StatusUnauthorized, "unauthenticated", err.Error())
	case errors.Is(err, ErrNoRoom), errors.Is(err, ErrUnknownTicket):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	default:
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
