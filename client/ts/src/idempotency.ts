/**
 * newIdempotencyKey returns a fresh 128-bit key, hex-encoded: the current
 * time in milliseconds (48 bits) followed by 80 random bits, as in a
 * UUIDv7. Make one per user action (a click on "Hold these seats") and send
 * it with every attempt of that action: the cluster applies the action
 * once and answers every attempt with the first one's result.
 *
 * Any unique string works. Keys that start with their time are cheaper for
 * the cluster: it keeps each write's key in an ordered index, where fresh
 * keys that sort together are appended instead of inserted at random places.
 */
export function newIdempotencyKey(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b.subarray(6));
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  let hex = "";
  for (const x of b) {
    hex += x.toString(16).padStart(2, "0");
  }
  return hex;
}
