package waitroom

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Handler serves the rooms' JSON API, the same for the web page and for API
// clients:
//
//	GET    /waitroom/v1/events/{event}                  the room's settings, or {"gated": false}
//	POST   /waitroom/v1/events/{event}/join             a new ticket's Status
//	GET    /waitroom/v1/events/{event}/tickets/{ticket} that ticket's Status
//	PUT    /waitroom/v1/rooms/{event}                   create or change a room (operator)
//	DELETE /waitroom/v1/rooms/{event}                   remove a room (operator)
//
// Operator calls need "Authorization: Bearer <adminToken>"; with an empty
// adminToken they are refused. Errors are {"code": ..., "message": ...} with
// Connect's code names.
func (rs *Rooms) Handler(adminToken string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /waitroom/v1/events/{event}", func(w http.ResponseWriter, r *http.Request) {
		cfg, err := rs.Config(r.PathValue("event"))
		if errors.Is(err, ErrNoRoom) {
			writeJSON(w, http.StatusOK, roomView{EventID: r.PathValue("event")})
			return
		}
		writeJSON(w, http.StatusOK, viewOf(cfg))
	})
	mux.HandleFunc("POST /waitroom/v1/events/{event}/join", func(w http.ResponseWriter, r *http.Request) {
		st, err := rs.Join(r.Context(), r.PathValue("event"))
		reply(w, st, err)
	})
	mux.HandleFunc("GET /waitroom/v1/events/{event}/tickets/{ticket}", func(w http.ResponseWriter, r *http.Request) {
		st, err := rs.Status(r.Context(), r.PathValue("event"), r.PathValue("ticket"))
		reply(w, st, err)
	})
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
		cfg := Config{EventID: r.PathValue("event"), Rate: v.Rate, MaxActive: v.MaxActive,
			AdmitFor: time.Duration(v.AdmitForSeconds * float64(time.Second))}
		if v.OnSale != nil {
			cfg.OnSale = *v.OnSale
		}
		if err := rs.Configure(cfg); err != nil {
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

// roomView is a room's settings on the wire.
type roomView struct {
	EventID         string     `json:"event_id,omitempty"`
	Gated           bool       `json:"gated"`
	OnSale          *time.Time `json:"on_sale,omitempty"`
	Rate            float64    `json:"rate,omitempty"`
	MaxActive       int        `json:"max_active,omitempty"`
	AdmitForSeconds float64    `json:"admit_for_seconds,omitempty"`
}

func viewOf(cfg Config) roomView {
	v := roomView{EventID: cfg.EventID, Gated: true, Rate: cfg.Rate, MaxActive: cfg.MaxActive,
		AdmitForSeconds: cfg.AdmitFor.Seconds()}
	if !cfg.OnSale.IsZero() {
		v.OnSale = &cfg.OnSale
	}
	return v
}

func reply(w http.ResponseWriter, st Status, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, st)
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
