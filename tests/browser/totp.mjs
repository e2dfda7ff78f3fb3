// RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30-second steps) with an RFC 4648 base32 decoder, using
// only node:crypto. The server accepts the previous, current and next step, and refuses a step at
// or before the last one it accepted (replay protection); `nextCode` picks a step it will take.
import crypto from 'node:crypto';

export const STEP_SECONDS = 30;

export function base32Decode(input) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = input.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error(`not base32: ${JSON.stringify(ch)} in ${JSON.stringify(input)}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The code for time step `step` (seconds since the epoch / 30). */
export function totpAt(secretB32, step, digits = 6) {
  const key = base32Decode(secretB32);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(bin).padStart(digits, '0');
}

export function currentStep(nowMs = Date.now()) {
  return Math.floor(nowMs / 1000 / STEP_SECONDS);
}

/**
 * A code the server will accept now, given the last step it accepted (`state.lastStep`, updated):
 * the earliest of the previous/current/next step that is after `lastStep`, avoiding the previous
 * step near the end of the current one (it would fall out of the window while the request is on
 * its way). Waits for the next step only when none qualifies.
 */
export async function nextCode(secretB32, state = {}) {
  for (;;) {
    const now = Date.now();
    const cur = currentStep(now);
    const intoStep = (now / 1000) % STEP_SECONDS;
    const last = state.lastStep ?? -Infinity;
    const candidates = [cur - 1, cur, cur + 1].filter(
      (s) => s > last && !(s === cur - 1 && intoStep > STEP_SECONDS - 8),
    );
    if (candidates.length) {
      state.lastStep = candidates[0];
      return totpAt(secretB32, candidates[0]);
    }
    const wait = (STEP_SECONDS - intoStep) * 1000 + 200;
    console.log(`  waiting ${(wait / 1000).toFixed(1)} s for the next TOTP step`);
    await new Promise((r) => setTimeout(r, wait));
  }
}

// RFC 6238 appendix B test vector (SHA-1 secret "12345678901234567890", T = 59 s → 94287082),
// checked on load so a broken helper fails before it confuses a scenario.
{
  const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  const got = totpAt(secret, Math.floor(59 / 30), 8);
  if (got !== '94287082') throw new Error(`TOTP self-test failed: ${got}`);
}
