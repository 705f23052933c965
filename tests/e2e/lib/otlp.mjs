// Hand-built OTLP requests for the end-to-end tests, in both encodings the
// OTLP/HTTP specification allows: protobuf (field numbers from the
// opentelemetry-proto .proto files, written with lib/pbwriter.mjs) and
// OTLP/JSON (lowerCamelCase names, hex ids, int64 and fixed64 as decimal
// strings, enums as integers). Used where the SDK cannot produce the input:
// exemplars, malformed records, ids of a chosen shape.

import * as pb from './pbwriter.mjs';

// ---- AnyValue ---------------------------------------------------------------
// Plain JS values map the way the OpenTelemetry JS SDK maps them: string,
// boolean, integer number -> int, other number -> double, array, plain object
// -> kvlist, null -> empty value. Wrappers force a kind.

const KIND = Symbol('otlp-kind');
export const int = (v) => ({ [KIND]: 'int', v: BigInt(v) });
export const dbl = (v) => ({ [KIND]: 'double', v: Number(v) });
export const bytesVal = (v) => ({ [KIND]: 'bytes', v: Buffer.from(v) });
// A string field carrying raw bytes exactly as given (for invalid UTF-8).
export const rawStr = (v) => ({ [KIND]: 'raw', v: Buffer.from(v) });

function classify(v) {
  if (v === null || v === undefined) return ['empty'];
  if (typeof v === 'object' && v[KIND]) return [v[KIND], v.v];
  if (typeof v === 'string') return ['string', v];
  if (typeof v === 'boolean') return ['bool', v];
  if (typeof v === 'bigint') return ['int', v];
  if (typeof v === 'number') return Number.isInteger(v) ? ['int', BigInt(v)] : ['double', v];
  if (Array.isArray(v)) return ['array', v];
  if (v instanceof Uint8Array) return ['bytes', Buffer.from(v)];
  if (typeof v === 'object') return ['kvlist', v];
  throw new TypeError(`cannot encode ${typeof v} as AnyValue`);
}

// AnyValue { string_value=1; bool_value=2; int_value=3; double_value=4;
//            array_value=5; kvlist_value=6; bytes_value=7 }
// ArrayValue { repeated AnyValue values=1 }  KeyValueList { repeated KeyValue values=1 }
// KeyValue { string key=1; AnyValue value=2 }
export function anyValuePb(v) {
  const [k, x] = classify(v);
  switch (k) {
    case 'empty':
      return Buffer.alloc(0);
    case 'string':
      return pb.string(1, x);
    case 'raw':
      return pb.bytes(1, x);
    case 'bool':
      return pb.bool(2, x);
    case 'int':
      return pb.int64(3, x);
    case 'double':
      return pb.double(4, x);
    case 'array':
      return pb.message(5, x.map((e) => pb.message(1, anyValuePb(e))));
    case 'kvlist':
      return pb.message(6, keyValuesPb(1, x));
    case 'bytes':
      return pb.bytes(7, x);
    default:
      throw new Error(`unhandled kind ${k}`);
  }
}

export function keyValuePb(key, value) {
  const k = key && typeof key === 'object' && key[KIND] === 'raw' ? pb.bytes(1, key.v) : pb.string(1, key);
  return pb.concat(k, pb.message(2, anyValuePb(value)));
}

// `attrs` is a plain object or an array of [key, value] pairs.
export function keyValuesPb(field, attrs) {
  const entries = Array.isArray(attrs) ? attrs : Object.entries(attrs || {});
  return entries.map(([k, v]) => pb.message(field, keyValuePb(k, v)));
}

export function anyValueJson(v) {
  const [k, x] = classify(v);
  switch (k) {
    case 'empty':
      return {};
    case 'string':
      return { stringValue: x };
    case 'bool':
      return { boolValue: x };
    case 'int':
      return { intValue: x.toString() };
    case 'double':
      return { doubleValue: x };
    case 'array':
      return { arrayValue: { values: x.map(anyValueJson) } };
    case 'kvlist':
      return { kvlistValue: { values: keyValuesJson(x) } };
    case 'bytes':
      return { bytesValue: x.toString('base64') };
    default:
      throw new Error(`kind ${k} has no OTLP/JSON form`);
  }
}

export function keyValuesJson(attrs) {
  const entries = Array.isArray(attrs) ? attrs : Object.entries(attrs || {});
  return entries.map(([key, value]) => ({ key, value: anyValueJson(value) }));
}

// What braid's query API returns for an AnyValue (contract: string => JSON
// string, int/double => number, bool, bytes => base64, array, kvlist =>
// object, empty => null).
export function anyValueApi(v) {
  const [k, x] = classify(v);
  switch (k) {
    case 'empty':
      return null;
    case 'string':
    case 'bool':
    case 'double':
      return x;
    case 'int':
      return Number(x);
    case 'array':
      return x.map(anyValueApi);
    case 'kvlist':
      return attrsApi(x);
    case 'bytes':
      return x.toString('base64');
    default:
      throw new Error(`kind ${k} has no API form`);
  }
}

export function attrsApi(attrs) {
  const out = {};
  const entries = Array.isArray(attrs) ? attrs : Object.entries(attrs || {});
  for (const [k, v] of entries) out[k] = anyValueApi(v);
  return out;
}

// ---- shared pieces --------------------------------------------------------

function hexBytes(hex) {
  return Buffer.from(hex, 'hex');
}

// Resource { repeated KeyValue attributes=1; uint32 dropped_attributes_count=2 }
function resourcePb(attrs) {
  return keyValuesPb(1, attrs);
}

// InstrumentationScope { name=1; version=2; attributes=3; dropped_attributes_count=4 }
function scopePb(scope = {}) {
  return pb.concat(
    scope.name !== undefined ? pb.string(1, scope.name) : null,
    scope.version !== undefined ? pb.string(2, scope.version) : null,
    keyValuesPb(3, scope.attributes),
  );
}

function scopeJson(scope = {}) {
  const out = {};
  if (scope.name !== undefined) out.name = scope.name;
  if (scope.version !== undefined) out.version = scope.version;
  if (scope.attributes) out.attributes = keyValuesJson(scope.attributes);
  return out;
}

// ---- logs -------------------------------------------------------------------
// A log record description:
//   { time: BigInt ns, observed: BigInt ns, severityNumber, severityText, body,
//     attributes, traceId: hex, spanId: hex, flags, eventName,
//     traceIdRaw / spanIdRaw: Buffer to send as-is (protobuf only),
//     extraPb: Buffer appended to the record (protobuf only) }
// A resource group: { resource: attrs, scopes: [{ scope, records: [...] }] }

// LogRecord { fixed64 time_unix_nano=1; fixed64 observed_time_unix_nano=11;
//   severity_number=2; severity_text=3; AnyValue body=5; attributes=6;
//   dropped_attributes_count=7; fixed32 flags=8; bytes trace_id=9;
//   bytes span_id=10; string event_name=12 }
export function logRecordPb(r) {
  return pb.concat(
    r.time !== undefined ? pb.fixed64(1, r.time) : null,
    r.severityNumber !== undefined ? pb.enumField(2, r.severityNumber) : null,
    r.severityText !== undefined ? pb.string(3, r.severityText) : null,
    'body' in r ? pb.message(5, anyValuePb(r.body)) : null,
    keyValuesPb(6, r.attributes),
    r.flags !== undefined ? pb.fixed32(8, r.flags) : null,
    r.traceIdRaw ? pb.bytes(9, r.traceIdRaw) : r.traceId ? pb.bytes(9, hexBytes(r.traceId)) : null,
    r.spanIdRaw ? pb.bytes(10, r.spanIdRaw) : r.spanId ? pb.bytes(10, hexBytes(r.spanId)) : null,
    r.observed !== undefined ? pb.fixed64(11, r.observed) : null,
    r.eventName !== undefined ? pb.string(12, r.eventName) : null,
    r.extraPb || null,
  );
}

// ExportLogsServiceRequest { ResourceLogs resource_logs=1 }
// ResourceLogs { Resource resource=1; ScopeLogs scope_logs=2 }
// ScopeLogs { InstrumentationScope scope=1; LogRecord log_records=2 }
export function logsRequestPb(groups) {
  return pb.concat(
    groups.map((g) =>
      pb.message(
        1,
        pb.message(1, resourcePb(g.resource)),
        g.scopes.map((s) =>
          pb.message(2, pb.message(1, scopePb(s.scope)), s.records.map((r) => pb.message(2, logRecordPb(r)))),
        ),
      ),
    ),
  );
}

export function logRecordJson(r) {
  const out = {};
  if (r.time !== undefined) out.timeUnixNano = r.time.toString();
  if (r.observed !== undefined) out.observedTimeUnixNano = r.observed.toString();
  if (r.severityNumber !== undefined) out.severityNumber = r.severityNumber;
  if (r.severityText !== undefined) out.severityText = r.severityText;
  if ('body' in r) out.body = anyValueJson(r.body);
  if (r.attributes) out.attributes = keyValuesJson(r.attributes);
  if (r.flags !== undefined) out.flags = r.flags;
  if (r.traceId !== undefined) out.traceId = r.traceId;
  if (r.spanId !== undefined) out.spanId = r.spanId;
  if (r.eventName !== undefined) out.eventName = r.eventName;
  return out;
}

export function logsRequestJson(groups) {
  return JSON.stringify({
    resourceLogs: groups.map((g) => ({
      resource: { attributes: keyValuesJson(g.resource) },
      scopeLogs: g.scopes.map((s) => ({ scope: scopeJson(s.scope), logRecords: s.records.map(logRecordJson) })),
    })),
  });
}

// ---- traces (small subset used for id validation) ----------------------------
// Span { trace_id=1; span_id=2; trace_state=3; parent_span_id=4; name=5; kind=6;
//   fixed64 start=7; fixed64 end=8; attributes=9; Status status=15; fixed32 flags=16 }
export function spanJson(s) {
  const out = {
    traceId: s.traceId,
    spanId: s.spanId,
    name: s.name,
    kind: s.kind ?? 1,
    startTimeUnixNano: s.start.toString(),
    endTimeUnixNano: s.end.toString(),
    attributes: keyValuesJson(s.attributes || {}),
    status: {},
  };
  if (s.parentSpanId !== undefined) out.parentSpanId = s.parentSpanId;
  return out;
}

export function tracesRequestJson(groups) {
  return JSON.stringify({
    resourceSpans: groups.map((g) => ({
      resource: { attributes: keyValuesJson(g.resource) },
      scopeSpans: g.scopes.map((sc) => ({ scope: scopeJson(sc.scope), spans: sc.spans.map(spanJson) })),
    })),
  });
}

export function spanPb(s) {
  return pb.concat(
    pb.bytes(1, hexBytes(s.traceId)),
    pb.bytes(2, hexBytes(s.spanId)),
    s.parentSpanId ? pb.bytes(4, hexBytes(s.parentSpanId)) : null,
    pb.string(5, s.name),
    pb.enumField(6, s.kind ?? 1),
    pb.fixed64(7, s.start),
    pb.fixed64(8, s.end),
    keyValuesPb(9, s.attributes || {}),
  );
}

export function tracesRequestPb(groups) {
  return pb.concat(
    groups.map((g) =>
      pb.message(
        1,
        pb.message(1, resourcePb(g.resource)),
        g.scopes.map((sc) => pb.message(2, pb.message(1, scopePb(sc.scope)), sc.spans.map((s) => pb.message(2, spanPb(s))))),
      ),
    ),
  );
}

// ---- metrics ------------------------------------------------------------------
// Metric descriptions:
//   { name, description, unit, histogram: { temporality, points: [HistPoint] } }
//   { name, ..., sum: { temporality, monotonic, points: [NumberPoint] } }
//   { name, ..., gauge: { points: [NumberPoint] } }
// NumberPoint: { attributes, start, time, asInt | asDouble, exemplars }
// HistPoint:   { attributes, start, time, count, sum, bucketCounts, bounds, min, max, exemplars }
// Exemplar:    { filteredAttributes, time, asInt | asDouble, spanId, traceId }

// Exemplar { filtered_attributes=7; fixed64 time_unix_nano=2; double as_double=3;
//   sfixed64 as_int=6; bytes span_id=4; bytes trace_id=5 }
function exemplarPb(e) {
  return pb.concat(
    keyValuesPb(7, e.filteredAttributes),
    pb.fixed64(2, e.time),
    e.asDouble !== undefined ? pb.double(3, e.asDouble) : null,
    e.asInt !== undefined ? pb.sfixed64(6, e.asInt) : null,
    e.spanId ? pb.bytes(4, hexBytes(e.spanId)) : null,
    e.traceId ? pb.bytes(5, hexBytes(e.traceId)) : null,
  );
}

// NumberDataPoint { attributes=7; fixed64 start=2; fixed64 time=3; double as_double=4;
//   sfixed64 as_int=6; Exemplar exemplars=5; uint32 flags=8 }
function numberPointPb(p) {
  return pb.concat(
    keyValuesPb(7, p.attributes),
    p.start !== undefined ? pb.fixed64(2, p.start) : null,
    pb.fixed64(3, p.time),
    p.asDouble !== undefined ? pb.double(4, p.asDouble) : null,
    p.asInt !== undefined ? pb.sfixed64(6, p.asInt) : null,
    (p.exemplars || []).map((e) => pb.message(5, exemplarPb(e))),
  );
}

// HistogramDataPoint { attributes=9; fixed64 start=2; fixed64 time=3; fixed64 count=4;
//   double sum=5; repeated fixed64 bucket_counts=6 (packed); repeated double
//   explicit_bounds=7 (packed); Exemplar exemplars=8; uint32 flags=10; double min=11; double max=12 }
function histPointPb(p) {
  return pb.concat(
    keyValuesPb(9, p.attributes),
    p.start !== undefined ? pb.fixed64(2, p.start) : null,
    pb.fixed64(3, p.time),
    pb.fixed64(4, p.count),
    p.sum !== undefined ? pb.double(5, p.sum) : null,
    pb.packedFixed64(6, p.bucketCounts),
    pb.packedDouble(7, p.bounds),
    (p.exemplars || []).map((e) => pb.message(8, exemplarPb(e))),
    p.min !== undefined ? pb.double(11, p.min) : null,
    p.max !== undefined ? pb.double(12, p.max) : null,
  );
}

// Metric { name=1; description=2; unit=3; Gauge gauge=5; Sum sum=7; Histogram histogram=9 }
// Gauge { NumberDataPoint data_points=1 }
// Sum { NumberDataPoint data_points=1; aggregation_temporality=2; bool is_monotonic=3 }
// Histogram { HistogramDataPoint data_points=1; aggregation_temporality=2 }
function metricPb(m) {
  const head = pb.concat(
    pb.string(1, m.name),
    m.description !== undefined ? pb.string(2, m.description) : null,
    m.unit !== undefined ? pb.string(3, m.unit) : null,
  );
  if (m.gauge) return pb.concat(head, pb.message(5, m.gauge.points.map((p) => pb.message(1, numberPointPb(p)))));
  if (m.sum) {
    return pb.concat(
      head,
      pb.message(
        7,
        m.sum.points.map((p) => pb.message(1, numberPointPb(p))),
        pb.enumField(2, m.sum.temporality ?? 2),
        pb.bool(3, m.sum.monotonic ?? true),
      ),
    );
  }
  if (m.histogram) {
    return pb.concat(
      head,
      pb.message(
        9,
        m.histogram.points.map((p) => pb.message(1, histPointPb(p))),
        pb.enumField(2, m.histogram.temporality ?? 2),
      ),
    );
  }
  throw new Error(`metric ${m.name} has no data`);
}

// ExportMetricsServiceRequest { ResourceMetrics resource_metrics=1 }
// ResourceMetrics { Resource resource=1; ScopeMetrics scope_metrics=2 }
// ScopeMetrics { InstrumentationScope scope=1; Metric metrics=2 }
export function metricsRequestPb(groups) {
  return pb.concat(
    groups.map((g) =>
      pb.message(
        1,
        pb.message(1, resourcePb(g.resource)),
        g.scopes.map((s) => pb.message(2, pb.message(1, scopePb(s.scope)), s.metrics.map((m) => pb.message(2, metricPb(m))))),
      ),
    ),
  );
}

function exemplarJson(e) {
  const out = { timeUnixNano: e.time.toString() };
  if (e.filteredAttributes) out.filteredAttributes = keyValuesJson(e.filteredAttributes);
  if (e.asDouble !== undefined) out.asDouble = e.asDouble;
  if (e.asInt !== undefined) out.asInt = BigInt(e.asInt).toString();
  if (e.spanId) out.spanId = e.spanId;
  if (e.traceId) out.traceId = e.traceId;
  return out;
}

function numberPointJson(p) {
  const out = { attributes: keyValuesJson(p.attributes), timeUnixNano: p.time.toString() };
  if (p.start !== undefined) out.startTimeUnixNano = p.start.toString();
  if (p.asDouble !== undefined) out.asDouble = p.asDouble;
  if (p.asInt !== undefined) out.asInt = BigInt(p.asInt).toString();
  if (p.exemplars) out.exemplars = p.exemplars.map(exemplarJson);
  return out;
}

function histPointJson(p) {
  const out = {
    attributes: keyValuesJson(p.attributes),
    timeUnixNano: p.time.toString(),
    count: BigInt(p.count).toString(),
    bucketCounts: p.bucketCounts.map((c) => BigInt(c).toString()),
    explicitBounds: p.bounds,
  };
  if (p.start !== undefined) out.startTimeUnixNano = p.start.toString();
  if (p.sum !== undefined) out.sum = p.sum;
  if (p.min !== undefined) out.min = p.min;
  if (p.max !== undefined) out.max = p.max;
  if (p.exemplars) out.exemplars = p.exemplars.map(exemplarJson);
  return out;
}

function metricJson(m) {
  const out = { name: m.name };
  if (m.description !== undefined) out.description = m.description;
  if (m.unit !== undefined) out.unit = m.unit;
  if (m.gauge) out.gauge = { dataPoints: m.gauge.points.map(numberPointJson) };
  if (m.sum) {
    out.sum = {
      dataPoints: m.sum.points.map(numberPointJson),
      aggregationTemporality: m.sum.temporality ?? 2,
      isMonotonic: m.sum.monotonic ?? true,
    };
  }
  if (m.histogram) {
    out.histogram = {
      dataPoints: m.histogram.points.map(histPointJson),
      aggregationTemporality: m.histogram.temporality ?? 2,
    };
  }
  return out;
}

export function metricsRequestJson(groups) {
  return JSON.stringify({
    resourceMetrics: groups.map((g) => ({
      resource: { attributes: keyValuesJson(g.resource) },
      scopeMetrics: g.scopes.map((s) => ({ scope: scopeJson(s.scope), metrics: s.metrics.map(metricJson) })),
    })),
  });
}

// ---- ids and times ------------------------------------------------------------

export function randomHex(nBytes) {
  let s = '';
  for (let i = 0; i < nBytes; i++) s += Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  return s;
}

// A random valid trace id (never all zero) / span id.
export function newTraceId() {
  let id;
  do id = randomHex(16);
  while (/^0+$/.test(id));
  return id;
}

export function newSpanId() {
  let id;
  do id = randomHex(8);
  while (/^0+$/.test(id));
  return id;
}

export function nowNs() {
  return BigInt(Date.now()) * 1000000n;
}

export const CT_PROTOBUF = { 'Content-Type': 'application/x-protobuf' };
export const CT_JSON = { 'Content-Type': 'application/json' };
