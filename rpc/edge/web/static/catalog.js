// What the page knows of departures: each event read once (GetEvent), its
// availability as last read (GetAvailability), and the prices that follow
// from them. Amounts worked out here are estimates for the running total;
// what an order costs is what the hold says.

import { rpc } from "./api.js";

const events = new Map(); // id -> Promise of the event
const avails = new Map(); // id -> the last GetAvailability answer

// eventOf reads an event once; a failed read is tried again next time.
export function eventOf(id) {
  if (!events.has(id)) {
    const p = rpc("GetEvent", { eventId: id }).then((r) => r.event);
    p.catch(() => events.delete(id));
    events.set(id, p);
  }
  return events.get(id);
}

// remember keeps events a listing returned.
export function remember(list) {
  for (const ev of list) events.set(ev.id, Promise.resolve(ev));
}

// availabilityOf reads an event's availability now.
export async function availabilityOf(id) {
  const av = await rpc("GetAvailability", { eventId: id });
  avails.set(id, av);
  return av;
}

// lastAvailability is the event's availability as last read, if ever.
export function lastAvailability(id) {
  return avails.get(id);
}

// started reports whether a departure has left: it can no longer be booked.
export function started(ev) {
  return !!ev.startsAt && Date.parse(ev.startsAt) <= Date.now();
}

// currencyOf is the currency an event sells in ("" without prices).
export function currencyOf(ev) {
  const cats = ev.categories || [];
  return cats.length ? cats[0].currency || "" : "";
}

// gaCategories are the categories sold as GA tickets: those without
// sections. An event with GA capacity and no categories sells one kind of
// ticket, named "".
export function gaCategories(ev) {
  const cats = (ev.categories || []).filter((c) => !(c.sections || []).length);
  if (cats.length) return cats;
  return Number(ev.capacity || 0) > 0 ? [{ name: "" }] : [];
}

// seatCategory is the category of a seat-map seat, by its section, or "".
export function seatCategory(ev, label) {
  const section = sectionOf(ev, label);
  const c = (ev.categories || []).find((c) => (c.sections || []).includes(section));
  return c ? c.name : "";
}

// sectionOf is the section of a seat: "STALLS" of "STALLS-A-12" when the
// event has that section, else "".
export function sectionOf(ev, label) {
  const s = label.split("-")[0];
  return (ev.sections || []).some((x) => x.name === s) && label.includes("-") ? s : "";
}

// priceNow is what the next ticket of a category costs now, the current
// tier's name and how many are left at that price (0: the category's own
// price applies), and how many of the category can be held.
export function priceNow(ev, av, name) {
  const cat = (ev.categories || []).find((c) => c.name === name);
  if (!cat) return null;
  const ca = ((av && av.categories) || []).find((c) => c.name === name);
  const tiers = cat.tiers || [];
  const tier = ca ? Number(ca.tier || 0) : 0;
  return {
    price: ca ? Number(ca.price || 0) : Number((tiers[0] || cat).price || 0),
    currency: (ca && ca.currency) || cat.currency || currencyOf(ev),
    tierName: tier < tiers.length ? tiers[tier].name || "" : "",
    tierLeft: ca ? Number(ca.tierLeft || 0) : 0,
    available: ca ? Number(ca.available || 0) : 0,
  };
}

// estimate is what n tickets of a category would cost if held now: the
// current tier's tickets left at its price, then the later tiers, then
// the category's own price.
export function estimate(ev, av, name, n) {
  const cat = (ev.categories || []).find((c) => c.name === name);
  if (!cat || n <= 0) return 0;
  const tiers = cat.tiers || [];
  const ca = ((av && av.categories) || []).find((c) => c.name === name);
  let k = ca ? Number(ca.tier || 0) : 0;
  let left = ca ? Number(ca.tierLeft || 0) : Number((tiers[0] || {}).quantity || 0);
  let sum = 0;
  while (n > 0) {
    if (k >= tiers.length) {
      sum += n * Number(cat.price || 0);
      break;
    }
    const take = Math.min(n, left);
    sum += take * Number(tiers[k].price || 0);
    n -= take;
    k++;
    left = k < tiers.length ? Number(tiers[k].quantity || 0) : 0;
  }
  return sum;
}

// freeCount is what can still be held: GA tickets (no more than the GA
// categories have left, when there are categories) and free seats.
export function freeCount(av) {
  let ga = Number(av.availableQuantity || 0);
  const cats = av.categories || [];
  if (cats.length) ga = Math.min(ga, cats.reduce((n, c) => n + Number(c.available || 0), 0));
  return ga + (av.freeSeats || []).length;
}
