package fsm

import (
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// Products group events: a tour or a show is a product, its dates are events
// (departures) that name it by product_id.

// MaxDescriptionLen bounds a product's description.
const MaxDescriptionLen = 2000

func (t *txn) createProduct(r *bookdv1.CreateProductRequest) (proto.Message, *Error) {
	if err := ValidateCreateProduct(r); err != nil {
		return nil, err
	}
	p := &bookdv1.Product{
		Id:          formatID(kindProduct, t.index),
		Name:        r.GetName(),
		Description: r.GetDescription(),
		CreatedAt:   t.timestamp(),
	}
	t.setProto(key(prefixProd, t.index), p)
	t.feed(&Change{Kind: "product_created", ProductId: p.Id})
	return &bookdv1.CreateProductResponse{Product: p}, nil
}

// ValidateCreateProduct checks a CreateProductRequest.
func ValidateCreateProduct(r *bookdv1.CreateProductRequest) *Error {
	if err := checkText("name", r.GetName(), MaxNameLen, true); err != nil {
		return err
	}
	if err := checkText("description", r.GetDescription(), MaxDescriptionLen, false); err != nil {
		return err
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}
