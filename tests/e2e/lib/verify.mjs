// Field-by-field comparison of what the OpenTelemetry SDK sent with what
// braid's query API returns (shapes from the daemon contract: ids as lower
// hex, times as decimal nanosecond strings, attributes as plain JSON).
// Mismatches are collected with their path so one failing run reports every
// wrong field at once instead of the first one only.

import assert from 'node:assert/strict';

const KINDS = ['internal', 'server', 'client', 'producer', 'consumer']; // SDK SpanKind order
const STATUS = ['unset', 'ok', 'error'];

export function hrToNs(hr) {
  return BigInt(Math.trunc(hr[0])) * 1000000000n + BigInt(Math.trunc(hr[1]));
}

export const ns = (hr) => hrToNs(hr).toString();

// SDK attribute / AnyValue -> the JSON value the contract promises.
export function apiValue(v) {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(apiValue);
  if (typeof v === 'object') return apiAttrs(v);
  return v;
}

export function apiAttrs(attrs) {
  const out = {};
  for (const k of Object.keys(attrs || {})) out[k] = apiValue(attrs[k]);
  return out;
}

// OTLP span/link flags as the SDK's OTLP transformer writes them: W3C trace
// flags in the low byte plus HAS_IS_REMOTE (0x100) and IS_REMOTE (0x200).
function otlpSpanFlags(traceFlags, isRemote) {
  return (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);
}

function scopeOf(scope) {
  return { name: scope.name, version: scope.version ?? '', attributes: apiAttrs(scope.attributes || {}) };
}

export function expectedSpan(s) {
  const ctx = s.spanContext();
  const start = hrToNs(s.startTime);
  const end = hrToNs(s.endTime);
  return {
    trace_id: ctx.traceId,
    span_id: ctx.spanId,
    parent_span_id: s.parentSpanContext?.spanId ?? '',
    name: s.name,
    kind: KINDS[s.kind],
    service: s.resource.attributes['service.name'],
    start_unix_nano: start.toString(),
    end_unix_nano: end.toString(),
    duration_ns: (end - start).toString(),
    status: { code: STATUS[s.status.code], message: s.status.message ?? '' },
    attributes: apiAttrs(s.attributes),
    events: s.events.map((e) => ({
      time_unix_nano: ns(e.time),
      name: e.name,
      attributes: apiAttrs(e.attributes || {}),
      dropped_attributes_count: e.droppedAttributesCount || 0,
    })),
    links: s.links.map((l) => ({
      trace_id: l.context.traceId,
      span_id: l.context.spanId,
      trace_state: l.context.traceState ? l.context.traceState.serialize() : '',
      attributes: apiAttrs(l.attributes || {}),
      dropped_attributes_count: l.droppedAttributesCount || 0,
      flags: otlpSpanFlags(l.context.traceFlags, l.context.isRemote),
    })),
    trace_state: ctx.traceState ? ctx.traceState.serialize() : '',
    flags: otlpSpanFlags(ctx.traceFlags, s.parentSpanContext?.isRemote),
    dropped_attributes_count: s.droppedAttributesCount,
    dropped_events_count: s.droppedEventsCount,
    dropped_links_count: s.droppedLinksCount,
    resource: apiAttrs(s.resource.attributes),
    scope: scopeOf(s.instrumentationScope),
  };
}

export function expectedLog(l) {
  return {
    trace_id: l.spanContext?.traceId ?? '',
    span_id: l.spanContext?.spanId ?? '',
    time_unix_nano: ns(l.hrTime),
    observed_time_unix_nano: ns(l.hrTimeObserved),
    severity_text: l.severityText ?? '',
    severity_number: l.severityNumber ?? 0,
    service: l.resource.attributes['service.name'],
    body: apiValue(l.body),
    attributes: apiAttrs(l.attributes),
    flags: l.spanContext ? l.spanContext.traceFlags : 0,
    event_name: l.eventName ?? '',
    source: 'otlp',
    dropped_attributes_count: l.droppedAttributesCount,
    resource: apiAttrs(l.resource.attributes),
    scope: scopeOf(l.instrumentationScope),
  };
}

export const logKey = (l) => (l.attributes ? l.attributes['e2e.log.id'] : undefined);

// Recursive structural diff: pushes "path: expected X, got Y" lines.
export function diff(actual, expected, where, out) {
  if (expected !== null && typeof expected === 'object') {
    if (Array.isArray(expected)) {
      if (!Array.isArray(actual)) {
        out.push(`${where}: expected an array ${short(expected)}, got ${short(actual)}`);
        return out;
      }
      if (actual.length !== expected.length) {
        out.push(`${where}: expected ${expected.length} elements ${short(expected)}, got ${actual.length} ${short(actual)}`);
        return out;
      }
      expected.forEach((e, i) => diff(actual[i], e, `${where}[${i}]`, out));
      return out;
    }
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      out.push(`${where}: expected an object ${short(expected)}, got ${short(actual)}`);
      return out;
    }
    for (const k of Object.keys(expected)) {
      if (!(k in actual)) out.push(`${where}.${k}: missing (expected ${short(expected[k])})`);
      else diff(actual[k], expected[k], `${where}.${k}`, out);
    }
    return out;
  }
  if (!Object.is(actual, expected)) out.push(`${where}: expected ${short(expected)}, got ${short(actual)}`);
  return out;
}

// Like diff, but maps (attributes, resource...) must not have extra keys.
export function diffExact(actual, expected, where, out) {
  diff(actual, expected, where, out);
  const walk = (a, e, w) => {
    if (!e || typeof e !== 'object' || !a || typeof a !== 'object') return;
    if (Array.isArray(e)) {
      if (Array.isArray(a) && a.length === e.length) e.forEach((x, i) => walk(a[i], x, `${w}[${i}]`));
      return;
    }
    const exactMap = /\.(attributes|resource|labels|filtered_attributes|body)$/.test(w) || /\.attributes\./.test(w);
    for (const k of Object.keys(a)) {
      if (k in e) walk(a[k], e[k], `${w}.${k}`);
      else if (exactMap) out.push(`${w}.${k}: unexpected key (value ${short(a[k])})`);
    }
  };
  walk(actual, expected, where);
  return out;
}

function short(v) {
  const s = JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x));
  if (s === undefined) return String(v);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

export function failIf(mismatches, title) {
  if (mismatches.length === 0) return;
  const shown = mismatches.slice(0, 60);
  const more = mismatches.length > shown.length ? `\n… and ${mismatches.length - shown.length} more` : '';
  assert.fail(`${title}: ${mismatches.length} mismatching field(s)\n  ${shown.join('\n  ')}${more}`);
}

function nondecreasing(values) {
  for (let i = 1; i < values.length; i++) if (BigInt(values[i]) < BigInt(values[i - 1])) return i;
  return -1;
}

function nonincreasing(values) {
  for (let i = 1; i < values.length; i++) if (BigInt(values[i]) > BigInt(values[i - 1])) return i;
  return -1;
}

export function checkOrder(rows, field, dir, where, out) {
  const vals = rows.map((r) => r[field]);
  if (vals.some((v) => typeof v !== 'string' || !/^\d+$/.test(v))) {
    out.push(`${where}: ${field} must be decimal strings, got ${short(vals)}`);
    return;
  }
  const bad = dir === 'asc' ? nondecreasing(vals) : nonincreasing(vals);
  if (bad >= 0) out.push(`${where}: not ordered by ${field} (${dir}) at index ${bad}: ${short(vals)}`);
}

// Compare a GET /api/v1/traces/{id} body with the spans and logs sent for
// that trace. `exemplars` (optional) is the exact expected exemplar list.
export function verifyTraceBody(body, traceId, sentSpans, sentLogs, { exemplars } = {}) {
  const out = [];
  const where = `trace ${traceId}`;
  if (!body || typeof body !== 'object') {
    failIf([`${where}: body is not a JSON object: ${short(body)}`], where);
  }
  if (body.trace_id !== traceId) out.push(`${where}.trace_id: expected ${traceId}, got ${short(body.trace_id)}`);
  for (const k of ['spans', 'logs', 'exemplars']) {
    if (!Array.isArray(body[k])) out.push(`${where}.${k}: expected an array, got ${short(body[k])}`);
  }
  if (out.length) failIf(out, where);

  // spans: same set (by span_id), each field equal, ordered by start time
  const gotSpans = new Map();
  for (const s of body.spans) {
    if (gotSpans.has(s.span_id)) out.push(`${where}: span ${s.span_id} returned more than once`);
    gotSpans.set(s.span_id, s);
  }
  for (const s of sentSpans) {
    const exp = expectedSpan(s);
    const got = gotSpans.get(exp.span_id);
    const w = `${where} span ${exp.span_id} (${exp.service} "${exp.name}")`;
    if (!got) {
      out.push(`${w}: missing`);
      continue;
    }
    gotSpans.delete(exp.span_id);
    diffExact(got, exp, w, out);
  }
  for (const [id, s] of gotSpans) out.push(`${where}: unexpected span ${id} "${s.name}"`);
  checkOrder(body.spans, 'start_unix_nano', 'asc', `${where}.spans`, out);

  // logs: same set (by the e2e.log.id attribute), each field equal, by time
  const gotLogs = new Map();
  for (const l of body.logs) {
    const k = logKey(l);
    if (gotLogs.has(k)) out.push(`${where}: log ${k} returned more than once`);
    gotLogs.set(k, l);
  }
  for (const l of sentLogs) {
    const exp = expectedLog(l);
    const k = logKey(exp);
    const got = gotLogs.get(k);
    const w = `${where} log ${k} (${exp.service} ${short(exp.body)})`;
    if (!got) {
      out.push(`${w}: missing`);
      continue;
    }
    gotLogs.delete(k);
    diffExact(got, exp, w, out);
  }
  for (const [k, l] of gotLogs) out.push(`${where}: unexpected log ${k} ${short(l.body)}`);
  checkOrder(body.logs, 'time_unix_nano', 'asc', `${where}.logs`, out);

  if (exemplars) {
    diffExact(body.exemplars, exemplars, `${where}.exemplars`, out);
    checkOrder(body.exemplars, 'time_unix_nano', 'asc', `${where}.exemplars`, out);
  }
  failIf(out, where);
}

// Spans and logs of one run grouped by trace id.
export function groupRun(run) {
  const byTrace = new Map(run.traceIds.map((id) => [id, { spans: [], logs: [] }]));
  for (const s of run.spans) {
    const g = byTrace.get(s.spanContext().traceId);
    if (g) g.spans.push(s);
  }
  for (const l of run.logs) {
    const id = l.spanContext?.traceId;
    if (id && byTrace.has(id)) byTrace.get(id).logs.push(l);
  }
  return byTrace;
}
