package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// externalBookd is a bookd cluster the bench did not start.
type externalBookd struct {
	endpoints []string
	pids      []int
	opts      bookdClientOptions
}

func newExternalBookd(endpoints []string, pids string, o bookdClientOptions) (*externalBookd, error) {
	e := &externalBookd{endpoints: endpoints, opts: o}
	for _, p := range strings.FieldsFunc(pids, func(r rune) bool { return r == ',' }) {
		pid, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("-server-pids: %q is not a process id", p)
		}
		e.pids = append(e.pids, pid)
	}
	return e, nil
}

func (e *externalBookd) Connect(_ context.Context, clients int) (Target, error) {
	return connectBookd(e.endpoints, clients, e.opts)
}

func (e *externalBookd) PIDs() []int { return e.pids }

func (e *externalBookd) Stop() error { return nil }
