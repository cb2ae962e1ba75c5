// How an order (a hold or a booking) is shown: each item with its
// departure and the prices the server gave it, then the voucher's
// discount and the total, as the server worked them out.

import { money, discount, when, itemText, title } from "./format.js";

const $ = (id) => document.getElementById(id);

// drawItems lists an order's items: what, the departure, the price lines
// and the amount, as the server priced them.
export function drawItems(list, items, evs, currency) {
  list.replaceChildren();
  items.forEach((it, i) => {
    const ev = evs[i];
    const li = document.createElement("li");
    li.dataset.eventId = it.eventId;
    li.dataset.category = it.category || "";
    const text = document.createElement("div");
    const what = document.createElement("strong");
    what.className = "what";
    what.textContent = itemText(it);
    const dep = document.createElement("span");
    dep.className = "muted small";
    dep.textContent = `${ev.name || ev.id}${ev.startsAt ? " · " + when(ev.startsAt, ev.timeZone) : ""}`;
    text.append(what, dep);
    if (currency && (it.prices || []).length) {
      const lines = document.createElement("span");
      lines.className = "muted small";
      lines.textContent = it.prices.map((p) => `${Number(p.quantity)} \u00d7 ${money(p.unitPrice, currency)}${tierName(ev, it.category, p.tier)}`).join(", ");
      text.append(lines);
    }
    if (it.cancelledAt) {
      const c = document.createElement("span");
      c.className = "small cancelled";
      c.textContent = "Cancelled";
      text.append(c);
    }
    const amount = document.createElement("span");
    amount.className = "amount";
    amount.textContent = currency ? money(it.amount, currency) : "";
    li.append(text, amount);
    list.append(li);
  });
}

function tierName(ev, category, tier) {
  const cat = (ev.categories || []).find((c) => c.name === category);
  const t = cat && (cat.tiers || [])[Number(tier || 0)];
  return t && t.name ? ` (${title(t.name)})` : "";
}

// drawTotals shows an order's voucher, discount and total (a hold's or a
// booking's: prefix "hold" or "booking"), as the server gave them.
export function drawTotals(prefix, o) {
  const currency = o.currency || "";
  const off = Number(o.discount || 0);
  $(prefix + "-totals").hidden = !currency;
  $(prefix + "-discount-line").hidden = off === 0;
  $(prefix + "-subtotal-line").hidden = off === 0;
  $(prefix + "-subtotal").textContent = money(Number(o.total || 0) + off, currency);
  $(prefix + "-voucher").textContent = o.voucherCode ? `(${o.voucherCode})` : "";
  $(prefix + "-discount").textContent = discount(off, currency);
  $(prefix + "-total").textContent = money(o.total, currency);
}

// itemsOf is an order's items: its items, or for an order of one item on
// an event without categories, the item its own fields describe.
export function itemsOf(o) {
  return (o.items || []).length ? o.items : [{ eventId: o.eventId, quantity: o.quantity, seats: o.seats }];
}
