package fsm_test

import (
	"strings"
	"testing"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestCreateProduct(t *testing.T) {
	h := newHarness(t)
	index := h.next
	p := mustOK[*bookdv1.CreateProductResponse](t, h.do(&bookdv1.CreateProductRequest{Name: "Harbour tour", Description: "Two hours on the water."})).GetProduct()
	want := &bookdv1.Product{Id: id("pr", index), Name: "Harbour tour", Description: "Two hours on the water.",
		CreatedAt: &timestamppb.Timestamp{Seconds: t0 / sec}}
	if !proto.Equal(p, want) {
		t.Errorf("CreateProduct = %v, want %v", p, want)
	}
	tests := []struct {
		name string
		req  *bookdv1.CreateProductRequest
		msg  string
	}{
		{"no name", &bookdv1.CreateProductRequest{}, "name: required"},
		{"long name", &bookdv1.CreateProductRequest{Name: strings.Repeat("n", fsm.MaxNameLen+1)}, "name: at most 200 bytes"},
		{"control character", &bookdv1.CreateProductRequest{Name: "a\nb"}, "name: control characters"},
		{"long description", &bookdv1.CreateProductRequest{Name: "a", Description: strings.Repeat("d", fsm.MaxDescriptionLen+1)}, "description: at most 2000 bytes"},
		{"long key", &bookdv1.CreateProductRequest{Name: "a", IdempotencyKey: strings.Repeat("k", fsm.MaxIDLen+1)}, "idempotency_key:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, h.do(tt.req), fsm.CodeInvalidArgument, "", tt.msg)
		})
	}
	wantStrings(t, "products", listProducts(t, h.f), []string{p.GetId() + " Harbour tour"})
}

func TestListProductsPaging(t *testing.T) {
	h := newHarness(t)
	var want []string
	for i := range 5 {
		want = append(want, h.createProduct("p"+string(rune('a'+i))).GetId())
		h.do(&bookdv1.CreateProductRequest{}) // refused: a gap in the ids
	}
	for _, limit := range []int{1, 2, 4, 5, 6} {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			products, next, err := h.f.ListProducts(after, limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range products {
				got = append(got, p.GetId())
			}
			if next == "" {
				break
			}
			after = next
		}
		wantStrings(t, "paged products", got, want)
	}
	_, _, err := h.f.ListProducts("ev_1", 10)
	checkError(t, err, fsm.CodeInvalidArgument, "", "page_token")
}

// An event names an existing product; its id is checked.
func TestEventOfProduct(t *testing.T) {
	h := newHarness(t)
	p := h.createProduct("Tour").GetId()
	ev := h.createEvent(&bookdv1.CreateEventRequest{Name: "Day 1", Capacity: 5, ProductId: p})
	if ev.GetProductId() != p || h.event(ev.GetId()).GetProductId() != p {
		t.Errorf("event of product %s names %q", p, ev.GetProductId())
	}
	wantErr(t, h.do(&bookdv1.CreateEventRequest{Name: "x", Capacity: 5, ProductId: "pr_999"}), fsm.CodeNotFound, "", "product_id: product pr_999 not found")
	wantErr(t, h.do(&bookdv1.CreateEventRequest{Name: "x", Capacity: 5, ProductId: "pr_" + ev.GetId()[3:]}), fsm.CodeNotFound, "", "not found") // an event's index, not a product
	wantErr(t, h.do(&bookdv1.CreateEventRequest{Name: "x", Capacity: 5, ProductId: "tour"}), fsm.CodeInvalidArgument, "", "product_id:")
}
