package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
	"github.com/bookd/bookd/rpc/waitroom"
)

// roomCall calls the waiting room's JSON API as the shopper of jar.
func roomCall(t *testing.T, jar http.CookieJar, method, url string) waitroom.Status {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	res, err := (&http.Client{Jar: jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d: %s", method, url, res.StatusCode, body)
	}
	var st waitroom.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestAdmissionIsOneShoppersAndSpentOnce: a room's admission token admits
// one hold by the shopper it was issued to: a second hold with it fails on
// the same edge, on another edge and sent to a node directly, and another
// shopper cannot use it; joining again gives the same ticket; once the
// admitted shopper confirms, the next in line is admitted at once.
func TestAdmissionIsOneShoppersAndSpentOnce(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	cl := newClient(t, c.Endpoints())
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Viral deal", Capacity: 100})
	secret := "shared edge secret, 16+ bytes"
	room := waitroom.Config{EventID: ev.GetId(), Rate: 1000, MaxActive: 1}
	edges := []*edge.Running{startRoomEdge(t, c, secret, room, edge.Config{}), startRoomEdge(t, c, secret, room, edge.Config{})}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	roomURL := fmt.Sprintf("http://%s/waitroom/v1/events/%s", edges[0].Addr(), ev.GetId())

	ann, bob := newJar(), newJar()
	st := roomCall(t, ann, "POST", roomURL+"/join")
	if st.State != waitroom.StateAdmitted || st.Token == "" {
		t.Fatalf("first in an idle room: %+v, want admitted", st)
	}
	if again := roomCall(t, ann, "POST", roomURL+"/join"); again.Ticket != st.Ticket {
		t.Fatalf("joining again gave ticket %s, want the same %s", again.Ticket, st.Ticket)
	}
	hold := func(jar http.CookieJar, run *edge.Running) (*bookdv1.Hold, error) {
		res, err := shopperClient(jar, run).Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Quantity: 1, AdmissionToken: st.Token})
		return res.GetHold(), err
	}
	h, err := hold(ann, edges[0])
	if err != nil {
		t.Fatalf("ann's hold with her admission: %v", err)
	}
	for i, run := range edges {
		if _, err := hold(ann, run); connect.CodeOf(err) != connect.CodePermissionDenied || client.Reason(err) != "ADMISSION_SPENT" {
			t.Fatalf("second hold with the token on edge %d: %v (reason %q), want PERMISSION_DENIED ADMISSION_SPENT", i, err, client.Reason(err))
		}
	}
	_, err = cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: h.GetCustomerId(), Quantity: 1, AdmissionToken: st.Token})
	if client.Reason(err) != "ADMISSION_SPENT" {
		t.Fatalf("the token replayed to a node: %v, want ADMISSION_SPENT", err)
	}
	if _, err := hold(bob, edges[1]); connect.CodeOf(err) != connect.CodePermissionDenied || client.Reason(err) != edge.ReasonAdmissionRequired {
		t.Fatalf("bob holding with ann's token: %v, want PERMISSION_DENIED %s", err, edge.ReasonAdmissionRequired)
	}

	// Bob waits while Ann shops; Ann confirms and Bob is in at once.
	bobSt := roomCall(t, bob, "POST", roomURL+"/join")
	if bobSt.State != waitroom.StateWaiting {
		t.Fatalf("bob while ann shops: %+v, want waiting", bobSt)
	}
	if _, err := shopperClient(ann, edges[0]).Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: h.GetId(), PaymentRef: "p1"}); err != nil {
		t.Fatal(err)
	}
	if bobSt = roomCall(t, bob, "GET", roomURL+"/tickets/"+bobSt.Ticket); bobSt.State != waitroom.StateAdmitted {
		t.Fatalf("bob right after ann confirmed: %+v, want admitted", bobSt)
	}
	// Ann, done, is not admitted again.
	if again := roomCall(t, ann, "POST", roomURL+"/join"); again.State == waitroom.StateAdmitted {
		t.Fatalf("ann after confirming: %+v, want no second admission", again)
	}
}
