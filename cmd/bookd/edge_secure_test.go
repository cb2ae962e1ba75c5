package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/auth/certgen"
	"github.com/bookd/bookd/rpc/clustertest"
)

// `bookd edge` in front of a cluster with TLS and tokens: with --ca-file
// and a booker token it takes a customer's hold and confirmation through
// to the cluster.
func TestEdgeBooksThroughSecureCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs an edge")
	}
	c := clustertest.Start(t, 3, clustertest.Options{Secure: true})
	sec := c.Security
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := client.New(c.Endpoints(), client.WithTLS(sec.ClientTLS()), client.WithToken(sec.Tokens["admin"]))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ev, err := admin.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Gala", Capacity: 10})
	if err != nil {
		t.Fatalf("CreateEvent as admin: %v", err)
	}

	url, _ := startEdgeProc(ctx, t, buildBinary(t), []string{"BOOKD_TOKEN=" + sec.Tokens["booker"]},
		"--endpoints", strings.Join(c.Endpoints(), ","), "--ca-file", sec.CAFile)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	web := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	// No customerId: the edge books for the identity its session cookie
	// (kept in web's jar) names.
	code, hold := postEdge(t, web, url, "Hold", `{"eventId":"`+ev.Id+`","quantity":2}`)
	holdID := idIn(hold, "hold")
	if code != http.StatusOK || holdID == "" {
		t.Fatalf("Hold through the edge: %d %v", code, hold)
	}
	code, conf := postEdge(t, web, url, "Confirm", `{"holdId":"`+holdID+`","paymentRef":"pay_1"}`)
	bookingID := idIn(conf, "booking")
	if code != http.StatusOK || bookingID == "" {
		t.Fatalf("Confirm through the edge: %d %v", code, conf)
	}

	b, err := admin.GetBooking(ctx, bookingID)
	if err != nil {
		t.Fatalf("the booking the edge made, read as admin: %v", err)
	}
	if b.Status != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED || b.Quantity != 2 || b.HoldId != holdID || b.CustomerId == "" {
		t.Errorf("booking = %v; want a customer's confirmed booking of 2 from hold %s", b, holdID)
	}
}

// `bookd edge` whose flags do not fit its cluster refuses to start, with
// a message naming the flag to give or fix; one whose cluster does not
// answer yet starts anyway, with a warning.
func TestEdgeChecksCredentialsAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs edges")
	}
	c := clustertest.Start(t, 3, clustertest.Options{Secure: true})
	sec := c.Security
	secure := strings.Join(c.Endpoints(), ",")
	plain := strings.Join(clustertest.Start(t, 1, clustertest.Options{}).Endpoints(), ",")
	otherCA := writeOtherCA(t)
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		says []string
	}{
		{"no --ca-file", nil, []string{"--endpoints", secure, "--token", sec.Tokens["booker"]},
			7, []string{"serves TLS", "give --ca-file"}},
		{"no --ca-file, https endpoints", nil, []string{"--endpoints", "https://" + c.Endpoints()[0], "--token", sec.Tokens["booker"]},
			7, []string{"does not trust", "give --ca-file"}},
		{"a --ca-file that trusts other nodes", nil, []string{"--endpoints", secure, "--ca-file", otherCA, "--token", sec.Tokens["booker"]},
			7, []string{"--ca-file " + otherCA + " does not trust"}},
		{"no --token", nil, []string{"--endpoints", secure, "--ca-file", sec.CAFile},
			7, []string{"check tokens", "give --token (or BOOKD_TOKEN)"}},
		{"an unknown --token", []string{"BOOKD_TOKEN=not-a-token-0123456789"}, []string{"--endpoints", secure, "--ca-file", sec.CAFile},
			7, []string{"refused --token", "unknown or revoked"}},
		{"a reader --token", nil, []string{"--endpoints", secure, "--ca-file", sec.CAFile, "--token", sec.Tokens["reader"]},
			7, []string{"role reader", "give a booker token"}},
		{"a --ca-file for nodes without TLS", nil, []string{"--endpoints", plain, "--ca-file", sec.CAFile},
			2, []string{"does not serve TLS", "drop --ca-file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runEdgeProc(ctx, t, bin, tc.env, tc.args...)
			t.Logf("exit %d: %s", code, out)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, out)
			}
			for _, s := range tc.says {
				if !strings.Contains(out, s) {
					t.Errorf("says %q, want it to say %q", out, s)
				}
			}
			for _, tok := range sec.Tokens {
				if strings.Contains(out, tok) {
					t.Errorf("says %q, a token", out)
				}
			}
		})
	}

	t.Run("a cluster not up yet", func(t *testing.T) {
		_, logs := startEdgeProc(ctx, t, bin, nil, "--endpoints", freePort(t), "--ca-file", sec.CAFile)
		if got := logs(); !strings.Contains(got, "starting without checking --token and --ca-file") {
			t.Errorf("the edge started without warning that it checked nothing; its log:\n%s", got)
		}
	})
}

// edgeEnv is the test's environment without BOOKD_ settings, and env.
func edgeEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BOOKD_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// runEdgeProc runs `bookd edge` expecting it to refuse to start, and
// returns what it said and its exit code. An edge that starts is killed
// and fails the test.
func runEdgeProc(ctx context.Context, t *testing.T, bin string, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"edge", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = edgeEnv(env)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("bookd edge %s started instead of refusing: %s", strings.Join(args, " "), out.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("bookd edge: %v", err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// startEdgeProc starts `bookd edge` on a free port and returns its URL once
// it serves, and a function that stops it and returns its log. The test's
// end stops it too.
func startEdgeProc(ctx context.Context, t *testing.T, bin string, env []string, args ...string) (url string, stop func() string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"edge", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = edgeEnv(env)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() string {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
		return logs.String()
	}
	t.Cleanup(func() { stop() })
	urls := make(chan string, 1)
	go func() {
		defer close(urls)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "bookd edge: open "); ok {
				urls <- strings.Fields(rest)[0]
				io.Copy(io.Discard, stdout)
				return
			}
		}
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("bookd edge %s exited: %s", strings.Join(args, " "), stop())
		}
		return u, stop
	case <-ctx.Done():
		t.Fatalf("bookd edge %s never served: %s", strings.Join(args, " "), stop())
	}
	return "", stop
}

// postEdge calls a BookingService procedure on the edge at url with
// Connect's JSON encoding, as a browser's page would.
func postEdge(t *testing.T, hc *http.Client, url, procedure, body string) (int, map[string]any) {
	t.Helper()
	return postConnectJSON(t, hc, url+"bookd.v1.BookingService/"+procedure, body)
}

// idIn is the id of the object named field in a JSON answer, or "".
func idIn(answer map[string]any, field string) string {
	obj, _ := answer[field].(map[string]any)
	id, _ := obj["id"].(string)
	return id
}

// writeOtherCA writes the certificate of a CA that signed no node.
func writeOtherCA(t *testing.T) string {
	t.Helper()
	ca, err := certgen.NewCA("some other CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "other-ca.crt")
	if err := os.WriteFile(path, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
