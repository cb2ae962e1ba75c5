package fsm_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Commands reach the state machine as Raft log entries. Time comes from the
// stamp on each command, never from a local clock.
func Example() {
	dir, err := os.MkdirTemp("", "bookd-fsm-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	f, err := fsm.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	start := time.Date(2030, 1, 1, 20, 0, 0, 0, time.UTC).UnixNano()
	entry := func(index uint64, stamp int64, req *fsmv1.Command) *raft.Log {
		req.StampUnixNanos = stamp
		data, err := fsm.EncodeCommand(req)
		if err != nil {
			log.Fatal(err)
		}
		return &raft.Log{Index: index, Type: raft.LogCommand, Data: data}
	}
	create := &bookdv1.CreateEventRequest{Name: "Opening night", Capacity: 2, Seats: []string{"A1", "A2"}}
	hold := &bookdv1.HoldRequest{EventId: "ev_1", CustomerId: "ada", Seats: []string{"A2"}, Ttl: durationpb.New(time.Minute)}

	results := f.ApplyBatch([]*raft.Log{
		entry(1, start, &fsmv1.Command{Op: &fsmv1.Command_CreateEvent{CreateEvent: create}, RequestHash: fsm.RequestHash(create)}),
		entry(2, start, &fsmv1.Command{Op: &fsmv1.Command_Hold{Hold: hold}, RequestHash: fsm.RequestHash(hold)}),
	})
	fmt.Println(results[1].(*fsm.Result).Response.(*bookdv1.HoldResponse).GetHold().GetId())

	a, _ := f.Availability("ev_1", start)
	fmt.Println(a.GetAvailableQuantity(), a.GetFreeSeats())
	a, _ = f.Availability("ev_1", start+time.Minute.Nanoseconds())
	fmt.Println(a.GetAvailableQuantity(), a.GetFreeSeats())
	// Output:
	// hd_2
	// 2 [A1]
	// 2 [A1 A2]
}
