// Reads braid's write-ahead log from the outside, for the durability tests:
// lists <data>/wal/*.wal segments and locates the CRC32C-framed records in
// one ([u32 len][u32 crc32c][payload]) so a test can tear or corrupt exactly
// the last record. It only ever modifies a file the test names explicitly.

import fs from 'node:fs';
import path from 'node:path';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf, start = 0, end = buf.length) {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function walDir(dataDir) {
  return path.join(dataDir, 'wal');
}

// Segment files, newest last (by modification time, then name).
export function walSegments(dataDir) {
  const dir = walDir(dataDir);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.wal'))
    .map((n) => {
      const p = path.join(dir, n);
      const st = fs.statSync(p);
      return { path: p, name: n, size: st.size, mtimeNs: st.mtimeNs ?? BigInt(Math.round(st.mtimeMs * 1e6)) };
    })
    .sort((a, b) => (a.mtimeNs === b.mtimeNs ? a.name.localeCompare(b.name) : a.mtimeNs < b.mtimeNs ? -1 : 1));
}

export function newestSegment(dataDir) {
  const segs = walSegments(dataDir).filter((s) => s.size > 0);
  return segs.length ? segs[segs.length - 1] : null;
}

// The framing is [u32 len][u32 crc32c][payload]; the byte order, whether the
// CRC also covers the length, and whether a segment header precedes the first
// record are not fixed by the contract, so every plausible reading is tried
// and the one that chains the most CRC-valid records wins.
const READINGS = [];
for (const le of [true, false]) {
  for (const crcOver of ['payload', 'len+payload']) {
    for (const lenIs of ['payload', 'record']) READINGS.push({ le, crcOver, lenIs });
  }
}

function chain(buf, start, r) {
  const recs = [];
  let off = start;
  while (off + 8 <= buf.length) {
    const len = r.le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
    const crc = r.le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
    const payloadLen = r.lenIs === 'payload' ? len : len - 8;
    if (len === 0 || payloadLen <= 0 || off + 8 + payloadLen > buf.length) break;
    const payloadOff = off + 8;
    let ok;
    if (r.crcOver === 'payload') ok = crc32c(buf, payloadOff, payloadOff + payloadLen) === crc;
    else {
      const tmp = Buffer.concat([buf.subarray(off, off + 4), buf.subarray(payloadOff, payloadOff + payloadLen)]);
      ok = crc32c(tmp) === crc;
    }
    if (!ok) break;
    recs.push({ offset: off, payloadOffset: payloadOff, payloadLength: payloadLen, end: payloadOff + payloadLen });
    off = payloadOff + payloadLen;
  }
  return recs;
}

// Returns { reading, start, records } with the longest valid chain, or null.
export function parseSegment(buf, maxHeader = 128) {
  let best = null;
  for (let start = 0; start <= Math.min(maxHeader, Math.max(0, buf.length - 9)); start++) {
    for (const r of READINGS) {
      const recs = chain(buf, start, r);
      if (recs.length && (!best || recs.length > best.records.length)) best = { reading: r, start, records: recs };
    }
    // A chain that starts at a small offset and reaches far is the framing;
    // no need to keep scanning header sizes.
    if (best && best.records.length >= 2) break;
  }
  return best;
}

// Deterministic garbage so a failing run can be reproduced byte for byte.
export function garbage(n, seed = 0x5eed) {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
