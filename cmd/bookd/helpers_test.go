package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// runProto runs a command with -o json and decodes its answer into m.
func runProto(t *testing.T, m proto.Message, args ...string) {
	t.Helper()
	out, code := run(t, append(args, "-o", "json")...)
	if code != 0 {
		t.Fatalf("bookd %s: exit %d: %s", strings.Join(args, " "), code, out)
	}
	if err := protojson.Unmarshal([]byte(out), m); err != nil {
		t.Fatalf("bookd %s: %v in %q", strings.Join(args, " "), err, out)
	}
}

func idsOf(events []*bookdv1.Event) []string {
	var ids []string
	for _, e := range events {
		ids = append(ids, e.Id)
	}
	return ids
}

// rowOf returns "SECTION-ROW" when every label is in that row and their
// numbers are consecutive, and "" otherwise.
func rowOf(labels []string) string {
	var row string
	prev := 0
	for i, l := range labels {
		cut := strings.LastIndex(l, "-")
		if cut < 0 {
			return ""
		}
		n, err := strconv.Atoi(l[cut+1:])
		if err != nil || (i > 0 && (l[:cut] != row || n != prev+1)) {
			return ""
		}
		row, prev = l[:cut], n
	}
	return row
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
