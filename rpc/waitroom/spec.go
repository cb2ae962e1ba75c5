package waitroom

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseSpec reads a room from "EVENT,RATE[,MAX_ACTIVE[,ON_SALE]]": admit RATE
// people a second to EVENT, at most MAX_ACTIVE shopping at once (0: no
// cap), from ON_SALE (RFC 3339; empty: now), as `bookd edge --room` takes it.
func ParseSpec(spec string) (Config, error) {
	parts := strings.Split(spec, ",")
	if len(parts) < 2 || len(parts) > 4 {
		return Config{}, fmt.Errorf("waitroom: room %q is not EVENT,RATE[,MAX_ACTIVE[,ON_SALE]]", spec)
	}
	cfg := Config{EventID: strings.TrimSpace(parts[0])}
	var err error
	if cfg.Rate, err = strconv.ParseFloat(strings.TrimSpace(parts[1]), 64); err != nil {
		return Config{}, fmt.Errorf("waitroom: room %q: rate: %v", spec, err)
	}
	if len(parts) > 2 && strings.TrimSpace(parts[2]) != "" {
		if cfg.MaxActive, err = strconv.Atoi(strings.TrimSpace(parts[2])); err != nil {
			return Config{}, fmt.Errorf("waitroom: room %q: max_active: %v", spec, err)
		}
	}
	if len(parts) > 3 && strings.TrimSpace(parts[3]) != "" {
		if cfg.OnSale, err = time.Parse(time.RFC3339, strings.TrimSpace(parts[3])); err != nil {
			return Config{}, fmt.Errorf("waitroom: room %q: on_sale: %v", spec, err)
		}
	}
	if err := cfg.check(); err != nil {
		return Config{}, fmt.Errorf("waitroom: room %q: %w", spec, err)
	}
	return cfg, nil
}
