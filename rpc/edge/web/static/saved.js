// What the page keeps in this browser so that a reload, or coming back
// later, finds the shopper's things again: the hold being paid for and the
// waitlist entries, each with its client_secret. The edge also knows the
// shopper by the session cookie; the secret lets the page reach its hold
// even after that session has ended. Nothing else is kept.

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch (err) {
    return null;
  }
}

function write(key, value) {
  if (value) localStorage.setItem(key, JSON.stringify(value));
  else localStorage.removeItem(key);
}

// savedHold is the hold being checked out: {id, secret}, one at a time,
// kept until it is confirmed, let go or expires.
export const savedHold = {
  get: () => read("bookd.hold"),
  set: (hold) => write("bookd.hold", { id: hold.id, secret: hold.clientSecret || hold.secret || "" }),
  drop: () => write("bookd.hold", null),
};

// savedEntry is the shopper's waitlist entry for an event: {id, secret}.
export const savedEntry = {
  get: (eventId) => read("bookd.waitlist." + eventId),
  set: (eventId, entry) => write("bookd.waitlist." + eventId, { id: entry.id, secret: entry.clientSecret || "" }),
  drop: (eventId) => write("bookd.waitlist." + eventId, null),
};

// bookingSecret is the secret of a booking this tab confirmed, so its page
// shows it whoever the edge takes the caller for.
export const bookingSecret = {
  get: (id) => sessionStorage.getItem("bookd.booking." + id) || "",
  set: (id, secret) => secret && sessionStorage.setItem("bookd.booking." + id, secret),
};
