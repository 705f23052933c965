// Minimal protobuf wire-format reader for the end-to-end tests: decodes the
// daemon's protobuf responses (Export*ServiceResponse, google.rpc.Status).
// It is strict (throws on truncation) so a malformed response fails the test
// that received it instead of being read as an empty message.

function readVarint(buf, pos) {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error(`truncated varint at byte ${pos}`);
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
    if (shift > 63n) throw new Error(`varint too long at byte ${pos}`);
  }
}

// Returns [{ field, wire, value }] in wire order. value: BigInt for varints,
// Buffer for the other wire types.
export function decodeFields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    let value;
    if (wire === 0) {
      [value, pos] = readVarint(buf, pos);
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (pos + n > buf.length) throw new Error(`truncated fixed field ${field}`);
      value = buf.subarray(pos, pos + n);
      pos += n;
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const end = pos + Number(len);
      if (end > buf.length) throw new Error(`field ${field} length ${len} past end`);
      value = buf.subarray(pos, end);
      pos = end;
    } else {
      throw new Error(`unsupported wire type ${wire} for field ${field}`);
    }
    out.push({ field, wire, value });
  }
  return out;
}

function last(fields, n) {
  let v;
  for (const f of fields) if (f.field === n) v = f;
  return v;
}

// google.rpc.Status { int32 code = 1; string message = 2; repeated Any details = 3; }
export function decodeStatus(buf) {
  const f = decodeFields(buf);
  const code = last(f, 1);
  const msg = last(f, 2);
  return {
    code: code ? Number(BigInt.asIntN(32, code.value)) : 0,
    message: msg ? msg.value.toString('utf8') : '',
  };
}

// Export{Trace,Logs,Metrics}ServiceResponse { Export*PartialSuccess partial_success = 1; }
// Export*PartialSuccess { int64 rejected_* = 1; string error_message = 2; }
export function decodeExportResponse(buf) {
  const f = decodeFields(buf);
  const ps = last(f, 1);
  if (!ps) return { partialSuccess: null };
  const inner = decodeFields(ps.value);
  const rejected = last(inner, 1);
  const msg = last(inner, 2);
  return {
    partialSuccess: {
      rejected: rejected ? BigInt.asIntN(64, rejected.value) : 0n,
      errorMessage: msg ? msg.value.toString('utf8') : '',
    },
  };
}
