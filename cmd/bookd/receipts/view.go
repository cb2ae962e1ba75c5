package receipts

import (
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// receiptView is what a receipt says; every string is clean (no control
// characters) but not escaped: the HTML template escapes.
type receiptView struct {
	Subject, Headline string
	// Cancelled: the booking is; Partial: some of its items are (Items
	// are those).
	Cancelled, Partial                 bool
	BookingID, Customer, Event, Starts string
	Quantity                           int64
	Seats                              string
	PaymentRef                         string
	// Items are an order's (none for one ticket type of an event without
	// prices: Event, Starts, Quantity and Seats say it all).
	Items []itemView
	// Money in the booking's currency, "" when it has none: Discount with
	// the Voucher that gave it (on a confirmation, if there was one), the
	// Total (on a confirmation or full cancellation), and the Refund (on
	// a cancellation).
	Discount, Voucher, Total, Refund string
}

// view is what r's e-mail says.
func view(r Receipt) receiptView {
	b, ev := r.Booking, r.Event
	events := r.Events
	if ev != nil && events[ev.GetId()] == nil {
		events = map[string]*bookdv1.Event{ev.GetId(): ev}
		for id, e := range r.Events {
			events[id] = e
		}
	}
	name := eventName(ev, b.GetEventId())
	v := receiptView{
		BookingID:  clean(b.GetId()),
		Customer:   clean(b.GetCustomerId()),
		Event:      name,
		Starts:     starts(ev),
		Quantity:   b.GetQuantity(),
		Seats:      clean(strings.Join(b.GetSeats(), ", ")),
		PaymentRef: clean(b.GetPaymentRef()),
	}
	items := r.Items
	if items == nil {
		items = b.GetItems()
	}
	if len(items) > 0 {
		v.Items = itemViews(items, events, b.GetCurrency(), r.Kind, r.Time)
		name = eventsSummary(items, events)
	}
	if cur := b.GetCurrency(); cur != "" {
		if r.Kind == KindConfirmed && b.GetDiscount() > 0 {
			v.Discount, v.Voucher = moneyOf(-b.GetDiscount(), cur), clean(b.GetVoucherCode())
		}
		if r.Kind != KindItemsCancelled {
			v.Total = moneyOf(b.GetTotal(), cur)
		}
		if r.Kind != KindConfirmed {
			v.Refund = moneyOf(r.Refund, cur)
		}
	}
	switch r.Kind {
	case KindCancelled:
		v.Cancelled = true
		v.Subject = fmt.Sprintf("Booking %s cancelled: %s", v.BookingID, name)
		v.Headline = fmt.Sprintf("Your booking %s has been cancelled.", v.BookingID)
	case KindItemsCancelled:
		v.Partial = true
		v.Subject = fmt.Sprintf("Part of booking %s cancelled: %s", v.BookingID, name)
		v.Headline = fmt.Sprintf("Part of your booking %s has been cancelled:", v.BookingID)
	default:
		v.Subject = fmt.Sprintf("Your booking %s: %s", v.BookingID, name)
		v.Headline = fmt.Sprintf("Your booking %s is confirmed.", v.BookingID)
	}
	return v
}

var textTmpl = template.Must(template.New("text").Funcs(template.FuncMap{"inc": inc}).Parse(`{{.Headline}}
{{if .Items}}{{range $i, $it := .Items}}
{{inc $i}}. {{$it.Event}}{{if $it.Category}}, {{$it.Category}}{{end}}{{if $it.Cancelled}} ({{$it.Cancelled}}){{end}}
{{- if $it.Starts}}
   Starts:    {{$it.Starts}}{{end}}
   Tickets:   {{$it.Quantity}}
{{- if $it.Seats}}
   Seats:     {{$it.Seats}}{{end}}
{{- range $j, $p := $it.Prices}}
   {{if $j}}           {{else}}Price:     {{end}}{{$p}}{{end}}
{{- if $it.Amount}}
   Amount:    {{$it.Amount}}{{end}}
{{- if $it.Discount}}
   Discount:  {{$it.Discount}}{{end}}
{{end}}
{{- if .Discount}}
Discount:  {{.Discount}}{{if .Voucher}} (voucher {{.Voucher}}){{end}}{{end}}
{{- if .Total}}
Total:     {{.Total}}{{end}}
{{- if .Refund}}
Refund:    {{.Refund}}{{end}}
{{else}}
Event:     {{.Event}}
{{- if .Starts}}
Starts:    {{.Starts}}{{end}}
Tickets:   {{.Quantity}}
{{- if .Seats}}
Seats:     {{.Seats}}{{end}}
{{- if .Refund}}
Refund:    {{.Refund}}{{end}}
{{end}}
Customer:  {{.Customer}}
{{- if .PaymentRef}}
Payment:   {{.PaymentRef}}{{end}}
Booking:   {{.BookingID}}
{{if .Cancelled}}
The tickets are released. A refund, if one is due, follows separately.
{{else if .Partial}}
These tickets are released; the rest of the booking stands. A refund, if
one is due, follows separately.
{{else}}
Keep this e-mail: the booking number is your ticket.
{{end}}`))

var htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Funcs(htmltemplate.FuncMap{"inc": inc}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif">
<h1 style="font-size: 1.2em">{{.Headline}}</h1>
{{- if .Items}}
<table cellpadding="4">
<tr><th align="left">Event</th><th align="left">Category</th><th align="right">Tickets</th><th align="left">Seats</th><th align="left">Price</th><th align="right">Amount</th></tr>
{{- range .Items}}
<tr><td>{{.Event}}{{if .Starts}}<br><small>{{.Starts}}</small>{{end}}{{if .Cancelled}}<br><em>{{.Cancelled}}</em>{{end}}</td><td>{{.Category}}</td><td align="right">{{.Quantity}}</td><td>{{.Seats}}</td><td>{{range $j, $p := .Prices}}{{if $j}}<br>{{end}}{{$p}}{{end}}</td><td align="right">{{.Amount}}{{if .Discount}}<br><small>discount {{.Discount}}</small>{{end}}</td></tr>
{{- end}}
{{- if .Discount}}
<tr><th align="left" colspan="5">Discount{{if .Voucher}} (voucher {{.Voucher}}){{end}}</th><td align="right">{{.Discount}}</td></tr>{{end}}
{{- if .Total}}
<tr><th align="left" colspan="5">Total</th><td align="right"><strong>{{.Total}}</strong></td></tr>{{end}}
{{- if .Refund}}
<tr><th align="left" colspan="5">Refund</th><td align="right">{{.Refund}}</td></tr>{{end}}
</table>
{{- end}}
<table>
{{- if not .Items}}
<tr><th align="left">Event</th><td>{{.Event}}</td></tr>
{{- if .Starts}}
<tr><th align="left">Starts</th><td>{{.Starts}}</td></tr>{{end}}
<tr><th align="left">Tickets</th><td>{{.Quantity}}</td></tr>
{{- if .Seats}}
<tr><th align="left">Seats</th><td>{{.Seats}}</td></tr>{{end}}
{{- if .Refund}}
<tr><th align="left">Refund</th><td>{{.Refund}}</td></tr>{{end}}
{{- end}}
<tr><th align="left">Customer</th><td>{{.Customer}}</td></tr>
{{- if .PaymentRef}}
<tr><th align="left">Payment</th><td>{{.PaymentRef}}</td></tr>{{end}}
<tr><th align="left">Booking</th><td>{{.BookingID}}</td></tr>
</table>
{{if .Cancelled}}<p>The tickets are released. A refund, if one is due, follows separately.</p>
{{else if .Partial}}<p>These tickets are released; the rest of the booking stands. A refund, if one is due, follows separately.</p>
{{else}}<p>Keep this e-mail: the booking number is your ticket.</p>
{{end}}</body></html>
`))

// inc numbers items from 1.
func inc(i int) int { return i + 1 }
