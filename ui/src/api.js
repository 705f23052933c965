// The query API client: same-origin GETs only, JSON in, errors carried as
// the server's {"error": "..."} message.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function getJSON(path, params, { signal } = {}) {
  const url = new URL(path, location.origin);
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
  }
  let res;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json' }, signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, `cannot reach braid (${err.message})`);
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const msg = body && body.error ? body.error : `HTTP ${res.status}`;
    throw new ApiError(res.status, msg);
  }
  return body;
}

// Time ranges offered everywhere; the API reads "15m" as "15 minutes ago".
export const RANGES = [
  ['5m', 'Last 5 minutes'],
  ['15m', 'Last 15 minutes'],
  ['1h', 'Last hour'],
  ['6h', 'Last 6 hours'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
];
export const DEFAULT_RANGE = '15m';

export function rangeSeconds(range) {
  const m = /^(\d+)([smhd])$/.exec(range || DEFAULT_RANGE);
  if (!m) return 900;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
}

// Whether text is a trace id in a form the API accepts: 32 or 16 hex digits
// (any case), a W3C traceparent, or a decimal 64-bit id.
export function looksLikeTraceId(text) {
  const s = text.trim();
  return (
    /^[0-9a-fA-F]{32}$/.test(s) ||
    /^[0-9a-fA-F]{16}$/.test(s) ||
    /^[0-9a-fA-F]{2}-[0-9a-fA-F]{32}-[0-9a-fA-F]{16}-[0-9a-fA-F]{2}$/.test(s) ||
    /^[0-9]{1,20}$/.test(s)
  );
}

// Unix nanoseconds (decimal string) minus one, as Unix seconds with a
// nanosecond fraction: the API's "end" for the page before a row.
export function nsBefore(ns) {
  const v = BigInt(ns) - 1n;
  const s = v / 1000000000n;
  const f = v % 1000000000n;
  return `${s}.${f.toString().padStart(9, '0')}`;
}

export function nsAfter(ns) {
  const v = BigInt(ns) + 1n;
  const s = v / 1000000000n;
  const f = v % 1000000000n;
  return `${s}.${f.toString().padStart(9, '0')}`;
}
