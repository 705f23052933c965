// Minimal protobuf wire-format writer for the end-to-end tests.
// It lets a test build OTLP payloads byte by byte, exactly as the protobuf
// encoding rules lay them out, including deliberately broken ones (wrong wire
// types, lengths past the end, invalid UTF-8). It knows nothing about OTLP
// message schemas; field numbers are chosen by the caller (see lib/otlp.mjs).
// Every function returns a Buffer; `concat` flattens nested arrays and skips
// null/undefined so optional fields can be written inline.

export const WIRE = Object.freeze({ VARINT: 0, I64: 1, LEN: 2, I32: 5 });

const U64_MASK = (1n << 64n) - 1n;

// Varint of an unsigned 64-bit value. Negative inputs are written as their
// 64-bit two's complement (10 bytes), as protobuf does for int64/int32.
export function varint(value) {
  let v = BigInt.asUintN(64, BigInt(value)) & U64_MASK;
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Buffer.from(out);
}

export function zigzag64(value) {
  const v = BigInt(value);
  return BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
}

export function tag(field, wireType) {
  if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) {
    throw new RangeError(`bad field number ${field}`);
  }
  return varint((BigInt(field) << 3n) | BigInt(wireType));
}

export function concat(...parts) {
  const bufs = [];
  const walk = (p) => {
    if (p === null || p === undefined) return;
    if (Array.isArray(p)) {
      for (const q of p) walk(q);
      return;
    }
    if (!(p instanceof Uint8Array)) throw new TypeError(`not a Buffer: ${typeof p}`);
    bufs.push(p);
  };
  walk(parts);
  return Buffer.concat(bufs);
}

export function uint(field, value) {
  return concat(tag(field, WIRE.VARINT), varint(value));
}

// int64 / int32 / enum: plain varint, negative values as 64-bit two's complement.
export const int64 = uint;
export const enumField = uint;

export function sint64(field, value) {
  return concat(tag(field, WIRE.VARINT), varint(zigzag64(value)));
}

export function bool(field, value) {
  return uint(field, value ? 1 : 0);
}

export function rawFixed64(value) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(value)));
  return b;
}

export function fixed64(field, value) {
  return concat(tag(field, WIRE.I64), rawFixed64(value));
}

export const sfixed64 = fixed64;

export function fixed32(field, value) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(Number(value) >>> 0);
  return concat(tag(field, WIRE.I32), b);
}

export function rawDouble(x) {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return b;
}

export function double(field, x) {
  return concat(tag(field, WIRE.I64), rawDouble(x));
}

// Length-delimited field holding arbitrary bytes.
export function bytes(field, data) {
  const buf = Buffer.from(data);
  return concat(tag(field, WIRE.LEN), varint(buf.length), buf);
}

export function string(field, s) {
  return bytes(field, Buffer.from(s, 'utf8'));
}

// Embedded message: the parts are the already-encoded fields of the child.
export function message(field, ...parts) {
  return bytes(field, concat(parts));
}

export function packedFixed64(field, values) {
  return bytes(field, concat(values.map(rawFixed64)));
}

export function packedDouble(field, values) {
  return bytes(field, concat(values.map(rawDouble)));
}

// A length-delimited header that claims `claimedLength` bytes while the
// caller supplies fewer: the "length past end" malformation.
export function lenHeader(field, claimedLength) {
  return concat(tag(field, WIRE.LEN), varint(claimedLength));
}
