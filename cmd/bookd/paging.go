package main

import (
	"context"
	"fmt"
	"io"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/pflag"
)

// pages runs a listing: one page, or with --all every page, each next page
// merged into the first answer (whose next page token ends up empty).
func pages[Req any, Res interface{ GetNextPageToken() string }](ctx context.Context, l *listFlags,
	list func(context.Context, Req) (Res, error), req Req, merge func(into, more Res)) (Res, error) {
	first, err := list(ctx, req)
	if err != nil || !l.all {
		return first, err
	}
	for first.GetNextPageToken() != "" {
		*l.token = first.GetNextPageToken()
		more, err := list(ctx, req)
		if err != nil {
			return first, err
		}
		merge(first, more)
	}
	return first, nil
}

// moreNote tells how to get the next page, if there is one.
func moreNote(w io.Writer, next string) {
	if next != "" {
		fmt.Fprintf(w, "(more: --page-token %s, or --all)\n", next)
	}
}

// listFlags are the paging and consistency flags every listing has.
type listFlags struct {
	size  *int32
	token *string
	all   bool
	stale bool
}

// register adds the flags, setting the request's page size and token.
func (l *listFlags) register(f *pflag.FlagSet, what string, size *int32, token *string) {
	l.size, l.token = size, token
	f.Int32Var(size, "page-size", 100, what+" per page")
	f.StringVar(token, "page-token", "", "token of the page to show (printed under a page that has more)")
	f.BoolVar(&l.all, "all", false, "list every page")
	f.BoolVar(&l.stale, "stale", false, "let the node that answers serve it from its own, possibly lagging, state")
}

// check refuses flags that contradict each other.
func (l *listFlags) check() error {
	if l.all && *l.token != "" {
		return usagef("--all lists every page: give it or --page-token, not both")
	}
	return nil
}

// read is the listing's read options: linearizable, or stale.
func (l *listFlags) read() *bookdv1.ReadOptions {
	if l.stale {
		return &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_STALE}
	}
	return nil
}
