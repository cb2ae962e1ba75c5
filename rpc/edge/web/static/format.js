// How the page writes money, times and names for the shopper, in the
// browser's language: prices in the event's currency, times in the time
// zone the event takes place in.

const moneyFormats = new Map();

function moneyFormat(currency) {
  if (!moneyFormats.has(currency)) {
    let f = null;
    try {
      f = new Intl.NumberFormat(undefined, { style: "currency", currency });
    } catch (err) {
      // Not a currency this browser knows: money() writes the code.
    }
    moneyFormats.set(currency, f);
  }
  return moneyFormats.get(currency);
}

// money writes an amount given in minor units (cents) of an ISO 4217
// currency: 4500 EUR is €45.00, 4500 JPY is ¥4,500. The currency's
// fraction digits come from Intl. Without a currency it is "".
export function money(minor, currency) {
  if (!currency) return "";
  const f = moneyFormat(currency);
  const n = Number(minor || 0);
  if (!f) return `${(n / 100).toFixed(2)} ${currency}`;
  return f.format(n / 10 ** f.resolvedOptions().maximumFractionDigits);
}

// discount writes an amount taken off: "−€13.00".
export function discount(minor, currency) {
  return "\u2212" + money(minor, currency);
}

const zones = new Map();

// zoneOf is tz when the browser knows it as an IANA time zone, else "UTC".
export function zoneOf(tz) {
  if (!tz) return "UTC";
  if (!zones.has(tz)) {
    let ok = true;
    try {
      new Intl.DateTimeFormat(undefined, { timeZone: tz });
    } catch (err) {
      ok = false;
    }
    zones.set(tz, ok ? tz : "UTC");
  }
  return zones.get(tz);
}

const timeFormats = new Map();

function timeFormat(tz, opts, key) {
  const k = key + "|" + tz;
  if (!timeFormats.has(k)) timeFormats.set(k, new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: tz }, opts)));
  return timeFormats.get(k);
}

// when writes a start time in the event's time zone, with the zone's
// short name: "Thu, Jun 5, 2025, 09:30 AM GMT+2".
export function when(ts, tz) {
  if (!ts) return "";
  return timeFormat(zoneOf(tz), {
    weekday: "short", year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  }, "when").format(new Date(ts));
}

// clock writes the time of day of ts in the browser's own zone (how long a
// hold lasts is the shopper's time, not the event's).
export function clock(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// dateIn is the calendar date (YYYY-MM-DD) of ts in time zone tz: the day
// a shopper searching for a date means.
export function dateIn(ts, tz) {
  const parts = {};
  for (const p of timeFormat(zoneOf(tz), { year: "numeric", month: "2-digit", day: "2-digit" }, "date").formatToParts(new Date(ts))) {
    parts[p.type] = p.value;
  }
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// title writes a category or section name for people: "early_bird" is
// "Early bird".
export function title(name) {
  const s = String(name || "").replace(/[_-]+/g, " ").trim();
  return s ? s[0].toUpperCase() + s.slice(1).toLowerCase() : "";
}

// plural writes "1 ticket", "3 tickets".
export function plural(n, one, many) {
  return `${n} ${Number(n) === 1 ? one : many}`;
}

// seatName writes a seat-map label for people: "STALLS-A-12" is
// "Stalls A12"; other labels ("A12") are as they are.
export function seatName(label) {
  const m = /^([^-]+)-([^-]+)-([0-9]+)$/.exec(label);
  return m ? `${title(m[1])} ${m[2]}${m[3]}` : label;
}

// itemText writes what an item of an order is: "2 × Adult", "Seats A2,
// A3", "3 tickets".
export function itemText(it) {
  const seats = it.seats || [];
  if (seats.length) {
    return (seats.length === 1 ? "Seat " : "Seats ") + seats.map(seatName).join(", ") + (it.category ? ` (${title(it.category)})` : "");
  }
  const n = Number(it.quantity || 0);
  return it.category ? `${n} \u00d7 ${title(it.category)}` : plural(n, "ticket", "tickets");
}
