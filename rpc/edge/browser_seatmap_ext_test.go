package edge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/types/known/timestamppb"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// TestBrowserDrawsTheSeatMapAsAGrid: on a phone and a desktop a seated
// event's map has the stage in front, row labels outside the seats on
// both sides, blocked seats that look unlike taken ones and cannot be
// picked, and each seat's category and price on hover and in a tip when
// tapped.
func TestBrowserDrawsTheSeatMapAsAGrid(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	run, _ := startEdge(t, c, edge.Config{})
	cl := newClient(t, c.Endpoints())
	for _, vp := range []viewport{phone, desktop} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := browserAt(t, vp)
			dir := artifacts(t)
			ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Royal hall recital " + vp.name,
				StartsAt: timestamppb.New(time.Now().Add(72 * time.Hour)), TimeZone: "Europe/London",
				Sections: []*bookdv1.Section{{Name: "STALLS", Rows: []*bookdv1.SeatRow{
					{Name: "A", Seats: 8, Blocked: []int32{4, 5}},
					{Name: "B", Seats: 10},
				}}},
				Categories: []*bookdv1.Category{{Name: "stalls", Price: 3000, Currency: "GBP", Sections: []string{"STALLS"}}},
			})
			bctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := cl.Book(bctx, &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "someone-else", Seats: []string{"STALLS-B-2"}}); err != nil {
				t.Fatal(err)
			}

			var buf []byte
			var grid struct {
				Rows []struct {
					Row                        string
					LeftOutside, RightOutside  bool
					LabelsInLine, SeatsInOrder bool
				}
				StageInFront   bool
				ColumnsAligned bool
			}
			step(t, ctx, dir, "open",
				chromedp.Navigate(run.URL()+"#/event/"+ev.GetId()),
				chromedp.WaitVisible(`.seat[data-seat="STALLS-B-2"].taken`, chromedp.ByQuery),
				chromedp.Evaluate(gridGeometry, &grid),
				screenshot(dir, "1-seat-map", &buf),
			)
			fitsPhone(t, ctx, "seat map")
			if !grid.StageInFront || !grid.ColumnsAligned || len(grid.Rows) != 2 {
				t.Fatalf("seat map %+v: want the stage in front of rows A and B, their seats in numbered columns", grid)
			}
			for _, r := range grid.Rows {
				if !r.LeftOutside || !r.RightOutside || !r.LabelsInLine || !r.SeatsInOrder {
					t.Errorf("row %s: %+v; want its labels left and right of its seats, on its line, its seats in number order", r.Row, r)
				}
			}

			// Blocked differs from taken, and neither can be picked.
			var looks []string
			var disabled []bool
			step(t, ctx, dir, "blocked and taken",
				chromedp.Evaluate(`['STALLS-A-4', 'STALLS-B-2'].map(s => { const st = getComputedStyle(document.querySelector('.seat[data-seat="' + s + '"]')); return st.backgroundImage + ' ' + st.borderTopStyle + ' ' + st.backgroundColor; })`, &looks),
				chromedp.Evaluate(`['STALLS-A-4', 'STALLS-A-5', 'STALLS-B-2'].map(s => document.querySelector('.seat[data-seat="' + s + '"]').disabled)`, &disabled),
				chromedp.Click(`.seat[data-seat="STALLS-A-4"]`, chromedp.ByQuery),
			)
			if looks[0] == looks[1] {
				t.Errorf("a blocked seat and a taken one look alike: %q", looks[0])
			}
			if !disabled[0] || !disabled[1] || !disabled[2] {
				t.Errorf("blocked A4, A5 and taken B2 disabled: %v", disabled)
			}

			// A free seat tells its row, category and price; picking it puts
			// it in the order at that price.
			var title, tip, total string
			var picked int
			step(t, ctx, dir, "pick",
				chromedp.AttributeValue(`.seat[data-seat="STALLS-A-3"]`, "title", &title, nil, chromedp.ByQuery),
				chromedp.Click(`.seat[data-seat="STALLS-A-3"]`, chromedp.ByQuery),
				chromedp.WaitVisible(`#seat-tip`, chromedp.ByQuery),
				chromedp.Text(`#seat-tip`, &tip, chromedp.ByQuery),
				chromedp.Poll(`document.getElementById('cart-total').textContent !== ''`, nil),
				chromedp.Text(`#cart-total`, &total, chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelectorAll('#seatmap .seat.selected').length`, &picked),
				screenshot(dir, "2-seat-picked", &buf),
			)
			fitsPhone(t, ctx, "seat picked")
			if want := "Stalls, row A, seat 3 · Stalls · £30.00"; title != want {
				t.Errorf("seat A3's title %q, want %q", title, want)
			}
			if !strings.HasPrefix(tip, "Stalls, row A, seat 3 · Stalls · £30.00") {
				t.Errorf("tapping A3 shows %q, want its row, category and price", tip)
			}
			if total != "£30.00" || picked != 1 {
				t.Errorf("after tapping blocked A4 and free A3: %d seats picked, order total %q; want A3 alone at £30.00", picked, total)
			}
		})
	}
}

// gridGeometry measures the seat map as drawn: for each row, whether its
// left label ends before its first seat and its right label starts after
// its last, both on the row's line, and its seats in number order left to
// right; whether the stage is above the first row; and whether seat n of
// rows A and B are in one column.
const gridGeometry = `(() => {
  const box = (e) => e.getBoundingClientRect();
  const rows = [...document.querySelectorAll('#seatmap .seat-grid')].flatMap((g) =>
    [...new Set([...g.querySelectorAll('.seat')].map((s) => s.dataset.row))].map((row) => {
      const seats = [...g.querySelectorAll('.seat[data-row="' + row + '"]')];
      const [left, right] = [...g.querySelectorAll('.row-label[data-row="' + row + '"]')].map(box);
      const boxes = seats.map(box);
      return {
        row,
        leftOutside: left.right <= Math.min(...boxes.map((b) => b.left)),
        rightOutside: right.left >= Math.max(...boxes.map((b) => b.right)),
        labelsInLine: Math.abs(left.top - boxes[0].top) < 2 && Math.abs(right.top - boxes[0].top) < 2,
        seatsInOrder: boxes.every((b, i) => i === 0 || b.left > boxes[i - 1].left),
      };
    }));
  const first = (n) => box(document.querySelector('.seat[data-seat="STALLS-' + n + '"]')).left;
  return {
    rows,
    stageInFront: box(document.querySelector('#seatmap .stage')).bottom <= box(document.querySelector('#seatmap .seat')).top,
    columnsAligned: first('A-1') === first('B-1') && first('A-8') === first('B-8'),
  };
})()`
