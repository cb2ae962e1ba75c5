// What the page tells the shopper: one line at the top of the page, and
// the sentence for each refusal. API text (a Connect message, a field
// name) is never shown: a refusal the page has no sentence for gets a
// general one.

const $ = (id) => document.getElementById(id);

// say shows text at the top of the page (an error in red); "" hides it.
export function say(text, isError) {
  const m = $("message");
  m.textContent = text || "";
  m.className = "message" + (isError ? " error" : "");
  m.hidden = !text;
  if (text && isError) m.scrollIntoView({ block: "nearest" });
}

let next = null;

// sayNext shows text once the page has moved to the view it is going to.
export function sayNext(text, isError) {
  next = { text, isError };
}

// routed clears the message for a new view, or shows the one said for it.
export function routed() {
  const m = next || { text: "" };
  next = null;
  say(m.text, m.isError);
}

// explain is the sentence for a refused or failed call. nameItem(i), when
// given, names item i of the order that was refused ("2 × Adult on
// Danube tour, Thu, Jun 5"), so the shopper knows which one to change.
export function explain(err, nameItem) {
  const item = err.meta && err.meta.item !== undefined && nameItem ? nameItem(Number(err.meta.item)) : "";
  const about = item ? ` (${item})` : "";
  switch (err.reason) {
    case "SOLD_OUT": {
      const left = err.meta && err.meta.available;
      if (left !== undefined && left !== "0") return `Not enough tickets left${about}: only ${left} remain. Choose fewer.`;
      return `Sold out${about}: there are not that many tickets left.`;
    }
    case "SEAT_TAKEN": return `Someone else just took one of those seats${about}. Pick another.`;
    case "SEAT_BLOCKED": return `One of those seats is not for sale${about}. Pick another.`;
    case "UNKNOWN_SEAT": return `One of those seats is no longer on the seat map${about}. Pick another.`;
    case "UNKNOWN_CATEGORY": return `That ticket type is not sold for this departure${about}. Remove it and pick another.`;
    case "CURRENCY_MISMATCH": return "These tickets are sold in different currencies, so they cannot be paid in one order. Book them one at a time.";
    case "VOUCHER_UNKNOWN":
    case "VOUCHER_NOT_VALID": return "That voucher code can't be used for these tickets. Check the code, or remove it to go on without it.";
    case "VOUCHER_USED_UP": return "That voucher has been used as often as it may be. Remove it to go on without it.";
    case "VOUCHER_ATTEMPTS": {
      const min = Math.max(1, Math.ceil((err.retryAfterMs || 60000) / 60000));
      return `Too many voucher codes that can't be used were tried from here. Try again in ${min} min, or remove the code to hold without it.`;
    }
    case "CUSTOMER_LIMIT": return `You already have as many tickets for this departure as one person may${about}. Choose fewer.`;
    case "HOLD_LIMIT": return `That is more tickets than one order may take${about}. Choose fewer.`;
    case "HOLD_CAP": return "Your tickets can't be held any longer. Please confirm now.";
    case "HOLD_EXPIRED": return "Your hold ran out before you confirmed, so nothing was booked. The tickets went back on sale.";
    case "HOLD_RELEASED": return "Your tickets were let go before you confirmed, so nothing was booked.";
    case "HOLD_CONFIRMED": return "This order is already booked.";
    case "EVENT_CLOSED": return `Sales have closed for this departure${about}.`;
    case "EVENT_CANCELLED": return `This departure was cancelled${about}.`;
    case "ADMISSION_REQUIRED":
    case "ADMISSION_INVALID":
    case "ADMISSION_EXPIRED":
    case "ADMISSION_SPENT": return `This departure has a waiting room${about}: please open it and wait for your turn.`;
    case "AVAILABLE": return "Tickets are available again: you can book them now.";
    case "NOT_WAITING": return "You are no longer on the waitlist.";
  }
  switch (err.code) {
    case "resource_exhausted": {
      const s = Math.max(1, Math.ceil((err.retryAfterMs || 1000) / 1000));
      return `We are very busy right now. Please try again in ${s} s.`;
    }
    case "network": return "We couldn't reach the booking system. Check your connection and try again.";
    case "unavailable":
    case "deadline_exceeded": return "The booking system is briefly unavailable. Please try again.";
    case "unauthenticated": return "Your session has ended. Reload the page to go on.";
    case "not_found": return "We couldn't find that. It may have been removed, or the link is not complete.";
    case "invalid_argument":
      if (err.field === "voucher_code" || /\.?voucher_code$/.test(err.field)) return "That doesn't look like a voucher code: codes are 4 to 64 letters, digits, '-' and '_'.";
      if (/contact_email$/.test(err.field)) return "Enter an e-mail address like name@example.com for the receipt, or leave it empty.";
      if (/payment_ref$/.test(err.field)) return "That payment reference can't be used. Check it and try again.";
      // An order may take one departure with a waiting room: its admission
      // is for that departure alone.
      if (/^items\[[0-9]+\]\.event_id$/.test(err.field)) return `Only one departure with a waiting room can be in an order${about}. Book it in an order of its own.`;
      return `Something in this order can't be booked as it is${about}. Please change it and try again.`;
  }
  return "Something went wrong. Please try again.";
}
