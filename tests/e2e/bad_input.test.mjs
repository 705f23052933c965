// End-to-end: malformed, oversized and misdirected OTLP/HTTP requests. For
// each case braid must answer with the status the contract names AND say
// what is wrong in the body; afterwards it must still serve, with the data
// sent before the bad input intact.

import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { after, describe, it } from 'node:test';

import { daemonFixture } from './lib/daemon.mjs';
import * as otlp from './lib/otlp.mjs';
import * as pb from './lib/pbwriter.mjs';
import { decodeExportResponse, decodeStatus } from './lib/pbreader.mjs';

const T = { timeout: 30000 };
const MiB = 1024 * 1024;

// What the response body says, whatever its encoding.
function bodyText(res) {
  const ct = String(res.headers['content-type'] || '');
  if (ct.includes('protobuf')) {
    try {
      return decodeStatus(res.body).message;
    } catch {
      return res.text;
    }
  }
  if (res.json && typeof res.json === 'object') return String(res.json.message ?? res.json.error ?? JSON.stringify(res.json));
  return res.text;
}

function show(res) {
  return `${res.status} ${res.headers['content-type'] || '(no content-type)'} ${JSON.stringify(bodyText(res)).slice(0, 300)}`;
}

// 400 with a google.rpc.Status in the request's encoding: code 3
// (INVALID_ARGUMENT) and a message matching `why`.
function assertBadRequest(res, encoding, why, what) {
  assert.equal(res.status, 400, `${what}: expected 400, got ${show(res)}`);
  if (encoding === 'protobuf') {
    assert.match(String(res.headers['content-type']), /application\/x-protobuf/, `${what}: 400 body must be protobuf`);
    let st;
    assert.doesNotThrow(() => {
      st = decodeStatus(res.body);
    }, `${what}: 400 body is not a google.rpc.Status: ${res.body.toString('hex').slice(0, 80)}`);
    assert.equal(st.code, 3, `${what}: Status.code must be 3 (INVALID_ARGUMENT), got ${st.code} "${st.message}"`);
    assert.match(st.message, why, `${what}: Status.message must say what is wrong, got "${st.message}"`);
  } else {
    assert.match(String(res.headers['content-type']), /application\/json/, `${what}: 400 body must be JSON`);
    assert.ok(res.json && typeof res.json === 'object', `${what}: 400 body is not JSON: ${res.text.slice(0, 200)}`);
    assert.equal(res.json.code, 3, `${what}: "code" must be 3 (INVALID_ARGUMENT): ${res.text.slice(0, 200)}`);
    assert.match(String(res.json.message), why, `${what}: "message" must say what is wrong: ${res.text.slice(0, 300)}`);
  }
}

function assertStatusSays(res, status, why, what) {
  assert.equal(res.status, status, `${what}: expected ${status}, got ${show(res)}`);
  assert.match(bodyText(res), why, `${what}: the ${status} body must say what is wrong: ${show(res)}`);
}

const RESOURCE = { 'service.name': 'bad-input-svc' };
const SCOPE = { name: 'bad-input', version: '1' };
const logs = (records) => [{ resource: RESOURCE, scopes: [{ scope: SCOPE, records }] }];

function goodRecord(tag, extra = {}) {
  const now = otlp.nowNs();
  return {
    time: now - 3000000001n,
    observed: now - 3000000000n,
    severityNumber: 9,
    severityText: 'INFO',
    body: `good record ${tag}`,
    attributes: { 'e2e.tag': tag },
    traceId: otlp.newTraceId(),
    spanId: otlp.newSpanId(),
    flags: 1,
    ...extra,
  };
}

describe('bad OTLP/HTTP input', () => {
  const fx = daemonFixture({ label: 'bad-input', args: ['--max-request-size', '8MiB'] });
  let d;
  let baseline; // { rec, body } stored before any bad input
  const W = (fn) =>
    fx.test(async (daemon, t) => {
      d = daemon;
      return fn(t);
    });
  const itCase = (name, fn) =>
    it(
      name,
      T,
      W(async () => {
        await fn();
        assert.ok(d.alive, `braid died while handling: ${name}`);
      }),
    );

  async function lookup(traceId) {
    return d.getJSON(`/api/v1/traces/${traceId}`);
  }

  async function assertStored(rec, what) {
    const res = await lookup(rec.traceId);
    assert.equal(res.status, 200, `${what}: the valid record must be stored (trace ${rec.traceId}): ${res.status} ${res.text.slice(0, 200)}`);
    const got = res.json.logs.filter((l) => l.attributes?.['e2e.tag'] === rec.attributes['e2e.tag']);
    assert.equal(got.length, 1, `${what}: the valid record must be stored once: ${res.text.slice(0, 400)}`);
    assert.equal(got[0].body, rec.body);
    assert.equal(got[0].time_unix_nano, rec.time.toString());
  }

  async function assertNotStored(traceId, what) {
    const res = await lookup(traceId);
    assert.equal(res.status, 404, `${what}: a rejected record must not be stored (trace ${traceId}): ${res.status} ${res.text.slice(0, 300)}`);
  }

  async function totalLogs() {
    const res = await d.getJSON('/api/v1/services');
    assert.equal(res.status, 200, `/api/v1/services: ${res.status} ${res.text.slice(0, 200)}`);
    return res.json.services.reduce((n, s) => n + Number(s.logs), 0);
  }

  after(() => fx.dispose());

  itCase('a valid request before any bad input is stored (the baseline)', async () => {
    const rec = goodRecord('baseline');
    const res = await d.post('/v1/logs', otlp.logsRequestPb(logs([rec])), otlp.CT_PROTOBUF);
    assert.equal(res.status, 200, `baseline POST /v1/logs: ${show(res)}`);
    await assertStored(rec, 'baseline');
    baseline = { rec, body: (await lookup(rec.traceId)).json };
  });

  const TRUNC = /truncat|unexpected end|end of (input|data|buffer|message|stream)|past (the )?end|beyond|exceed|out of (bounds|range)|overflow|short|incomplete|premature|eof|length/i;

  itCase('truncated protobuf (cut inside nested messages) → 400 INVALID_ARGUMENT', async () => {
    const full = otlp.logsRequestPb(logs([goodRecord('t1'), goodRecord('t2')]));
    for (const cut of [full.length - 7, Math.floor(full.length / 2), 3]) {
      const res = await d.post('/v1/logs', full.subarray(0, cut), otlp.CT_PROTOBUF);
      assertBadRequest(res, 'protobuf', TRUNC, `logs request cut to ${cut} of ${full.length} bytes`);
    }
  });

  itCase('protobuf ending inside a varint → 400 INVALID_ARGUMENT', async () => {
    // tag of resource_logs (field 1, LEN) followed by an unfinished length varint
    const res = await d.post('/v1/logs', Buffer.from([0x0a, 0x80]), otlp.CT_PROTOBUF);
    assertBadRequest(res, 'protobuf', /varint|truncat|unexpected end|end of|incomplete|eof|short|length/i, 'unfinished varint');
  });

  itCase('wrong wire type, top level and nested → 400 INVALID_ARGUMENT', async () => {
    // resource_logs (field 1) must be length-delimited; send it as a varint
    let res = await d.post('/v1/logs', pb.uint(1, 5), otlp.CT_PROTOBUF);
    assertBadRequest(res, 'protobuf', /wire[ _-]?type/i, 'resource_logs as a varint');
    // LogRecord.time_unix_nano (field 1) is fixed64; send it as length-delimited
    const rec = pb.concat(pb.string(1, 'not a time'), pb.string(3, 'INFO'));
    const body = pb.message(1, pb.message(2, pb.message(2, rec)));
    res = await d.post('/v1/logs', body, otlp.CT_PROTOBUF);
    assertBadRequest(res, 'protobuf', /wire[ _-]?type/i, 'LogRecord.time_unix_nano as bytes');
    // Span.trace_id (field 1) is bytes; send it as a varint
    const span = pb.concat(pb.uint(1, 12345), pb.bytes(2, Buffer.alloc(8, 1)), pb.string(5, 'x'));
    res = await d.post('/v1/traces', pb.message(1, pb.message(2, pb.message(2, span))), otlp.CT_PROTOBUF);
    assertBadRequest(res, 'protobuf', /wire[ _-]?type/i, 'Span.trace_id as a varint');
  });

  itCase('length past the end of the buffer or of the enclosing message → 400 INVALID_ARGUMENT', async () => {
    let res = await d.post('/v1/logs', pb.concat(pb.lenHeader(1, 1000), Buffer.alloc(10, 0x41)), otlp.CT_PROTOBUF);
    assertBadRequest(res, 'protobuf', TRUNC, 'resource_logs claiming 1000 bytes with 10 present');
    // scope_logs claims 40 bytes inside a resource_logs of 7: it runs into the
    // next top-level field, so only a check against the enclosing message catches it
    const inner = pb.concat(pb.lenHeader(2, 40), Buffer.alloc(5, 0));
    const outer = pb.concat(pb.lenHeader(1, inner.length), inner);
    const next = pb.bytes(15, Buffer.alloc(33, 0));
    res = await d.post('/v1/logs', pb.concat(outer, next), otlp.CT_PROTOBUF);
    assertBadRequest(res, 'protobuf', TRUNC, 'nested length past the enclosing message');
    // a length varint larger than any buffer (2^62)
    res = await d.post('/v1/logs', pb.concat(pb.tag(1, pb.WIRE.LEN), pb.varint(1n << 62n), Buffer.alloc(4)), otlp.CT_PROTOBUF);
    assertBadRequest(res, 'protobuf', TRUNC, 'length of 2^62');
  });

  itCase('invalid UTF-8 in string fields → 200 with partialSuccess rejecting exactly those records', async () => {
    const good = goodRecord('utf8-good');
    const bad = [
      goodRecord('utf8-bad-body', { body: otlp.rawStr([0x62, 0x61, 0x64, 0xc3, 0x28]) }),
      goodRecord('utf8-bad-attr-value', { attributes: { 'e2e.tag': 'utf8-bad-attr-value', note: otlp.rawStr([0xff, 0xfe, 0x41]) } }),
      goodRecord('utf8-bad-attr-key', { attributes: [['e2e.tag', 'utf8-bad-attr-key'], [otlp.rawStr([0x6b, 0xed, 0xa0, 0x80]), 'v']] }),
    ];
    const res = await d.post('/v1/logs', otlp.logsRequestPb(logs([bad[0], good, bad[1], bad[2]])), otlp.CT_PROTOBUF);
    assert.equal(res.status, 200, `expected 200 with a partial success, got ${show(res)}`);
    assert.match(String(res.headers['content-type']), /application\/x-protobuf/);
    const { partialSuccess } = decodeExportResponse(res.body);
    assert.ok(partialSuccess, `the response must carry partial_success: ${res.body.toString('hex')}`);
    assert.equal(partialSuccess.rejected, 3n, `rejected_log_records must be 3: ${JSON.stringify(partialSuccess.errorMessage)}`);
    assert.match(partialSuccess.errorMessage, /utf-?8/i, 'error_message must mention UTF-8');
    await assertStored(good, 'invalid UTF-8 batch');
    for (const b of bad) await assertNotStored(b.traceId, b.attributes['e2e.tag'] || 'bad key');
  });

  itCase('AnyValue nested 100 levels deep → 200 with partialSuccess rejecting that record', async () => {
    let v = 'leaf';
    for (let i = 0; i < 100; i++) v = { [`level${i}`]: v };
    const deep = goodRecord('deep', { body: v });
    const good = goodRecord('deep-good');
    const res = await d.post('/v1/logs', otlp.logsRequestPb(logs([good, deep])), otlp.CT_PROTOBUF);
    assert.equal(res.status, 200, `expected 200 with a partial success, got ${show(res)}`);
    const { partialSuccess } = decodeExportResponse(res.body);
    assert.ok(partialSuccess, 'the response must carry partial_success');
    assert.equal(partialSuccess.rejected, 1n, `rejected_log_records must be 1: "${partialSuccess.errorMessage}"`);
    assert.match(partialSuccess.errorMessage, /depth|nest|deep|recurs/i, 'error_message must say the value is nested too deeply');
    await assertStored(good, 'deep nesting batch');
    await assertNotStored(deep.traceId, 'deeply nested record');
  });

  itCase('invalid JSON → 400 with a JSON google.rpc.Status', async () => {
    const why = /json|parse|syntax|unexpected|expected|invalid|unterminated/i;
    for (const body of ['{"resourceLogs": [', 'not json at all', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"}}]}]}', '{"resourceLogs": [}]}']) {
      const res = await d.post('/v1/logs', body, otlp.CT_JSON);
      assertBadRequest(res, 'json', why, `JSON body ${JSON.stringify(body)}`);
    }
  });

  itCase('log records with malformed ids in JSON → 200 with partialSuccess rejecting exactly those', async () => {
    const good = goodRecord('ids-good');
    const bad = [
      { ...goodRecord('ids-odd-trace'), traceId: 'abc' },
      { ...goodRecord('ids-nonhex-trace'), traceId: 'zz'.repeat(16) },
      { ...goodRecord('ids-long-trace'), traceId: otlp.newTraceId() + 'ab' },
      { ...goodRecord('ids-odd-span'), spanId: 'abcde' },
    ];
    const res = await d.post('/v1/logs', otlp.logsRequestJson(logs([good, ...bad])), otlp.CT_JSON);
    assert.equal(res.status, 200, `expected 200 with a partial success, got ${show(res)}`);
    assert.match(String(res.headers['content-type']), /application\/json/);
    const ps = res.json?.partialSuccess;
    assert.ok(ps, `the response must carry partialSuccess: ${res.text}`);
    assert.equal(ps.rejectedLogRecords, '4', `rejectedLogRecords must be "4" (int64 as a JSON string): ${res.text}`);
    assert.match(String(ps.errorMessage), /trace.?id|span.?id|\bid\b|hex/i, `errorMessage must name the bad id: ${res.text}`);
    await assertStored(good, 'malformed ids batch');
    for (const b of bad) {
      const q = `/api/v1/logs?service=bad-input-svc&q=${encodeURIComponent(b.body)}`;
      const r = await d.getJSON(q);
      assert.equal(r.status, 200, `${q}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.deepEqual(r.json.logs, [], `${b.attributes['e2e.tag']} was rejected and must not be stored`);
    }
  });

  itCase('spans with malformed ids in JSON → 200 with partialSuccess rejecting exactly those', async () => {
    const now = otlp.nowNs();
    const span = (name, over = {}) => ({
      traceId: otlp.newTraceId(),
      spanId: otlp.newSpanId(),
      name,
      kind: 2,
      start: now - 2000000000n,
      end: now - 1000000000n,
      ...over,
    });
    const good = span('ids good span');
    const bad = [
      span('odd trace id', { traceId: '123' }),
      span('non-hex span id', { spanId: 'qwertyuiopasdfgh' }),
      span('long parent id', { parentSpanId: otlp.newSpanId() + '00' }),
    ];
    const body = otlp.tracesRequestJson([{ resource: RESOURCE, scopes: [{ scope: SCOPE, spans: [good, ...bad] }] }]);
    const res = await d.post('/v1/traces', body, otlp.CT_JSON);
    assert.equal(res.status, 200, `expected 200 with a partial success, got ${show(res)}`);
    const ps = res.json?.partialSuccess;
    assert.ok(ps, `the response must carry partialSuccess: ${res.text}`);
    assert.equal(ps.rejectedSpans, '3', `rejectedSpans must be "3": ${res.text}`);
    assert.match(String(ps.errorMessage), /trace.?id|span.?id|\bid\b|hex/i, `errorMessage must name the bad id: ${res.text}`);
    const r = await lookup(good.traceId);
    assert.equal(r.status, 200, `the valid span must be stored: ${r.status} ${r.text.slice(0, 200)}`);
    assert.deepEqual(r.json.spans.map((s) => s.name), ['ids good span']);
    for (const b of bad.filter((x) => /^[0-9a-f]{32}$/.test(x.traceId))) await assertNotStored(b.traceId, b.name);
  });

  itCase('gzip bomb (100 MiB of zeros) with --max-request-size 8MiB → 413', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(100 * MiB), { level: 9 });
    assert.ok(bomb.length < MiB, 'the compressed bomb is small');
    const res = await d.post('/v1/logs', bomb, { ...otlp.CT_PROTOBUF, 'Content-Encoding': 'gzip' });
    assertStatusSays(res, 413, /too large|size|limit|exceed|big/i, 'gzip bomb');
  });

  itCase('body larger than --max-request-size → 413 (with Content-Length and chunked)', async () => {
    const big = Buffer.alloc(9 * MiB, 0x41);
    let res = await d.post('/v1/logs', big, otlp.CT_PROTOBUF);
    assertStatusSays(res, 413, /too large|size|limit|exceed|big/i, '9 MiB body with Content-Length');
    const pieces = Array.from({ length: 9 }, () => Buffer.alloc(MiB, 0x41));
    res = await d.post('/v1/logs', pieces, otlp.CT_PROTOBUF);
    assertStatusSays(res, 413, /too large|size|limit|exceed|big/i, '9 MiB chunked body');
  });

  itCase('Content-Encoding: gzip with a body that is not gzip → 400', async () => {
    const res = await d.post('/v1/logs', otlp.logsRequestPb(logs([goodRecord('not-gzip')])), {
      ...otlp.CT_PROTOBUF,
      'Content-Encoding': 'gzip',
    });
    assertBadRequest(res, 'protobuf', /gzip|decompress|inflate|compress|encoding/i, 'non-gzip body marked gzip');
  });

  itCase('empty body → 200 and nothing stored (an empty message is a valid empty request)', async () => {
    const before = await totalLogs();
    let res = await d.post('/v1/logs', Buffer.alloc(0), otlp.CT_PROTOBUF);
    assert.equal(res.status, 200, `empty protobuf: ${show(res)}`);
    assert.match(String(res.headers['content-type']), /application\/x-protobuf/);
    assert.equal(decodeExportResponse(res.body).partialSuccess?.rejected ?? 0n, 0n);
    res = await d.post('/v1/traces', Buffer.alloc(0), otlp.CT_PROTOBUF);
    assert.equal(res.status, 200, `empty protobuf traces: ${show(res)}`);
    res = await d.post('/v1/logs', '{}', otlp.CT_JSON);
    assert.equal(res.status, 200, `empty JSON object: ${show(res)}`);
    assert.ok(res.json && !res.json.partialSuccess?.rejectedLogRecords, `nothing to reject: ${res.text}`);
    res = await d.post('/v1/logs', '{"resourceLogs":[]}', otlp.CT_JSON);
    assert.equal(res.status, 200, `empty resourceLogs: ${show(res)}`);
    assert.equal(await totalLogs(), before, 'empty requests must store nothing');
  });

  itCase('unknown protobuf fields are skipped, the record is stored as sent', async () => {
    const rec = goodRecord('unknown-fields', {
      extraPb: pb.concat(pb.uint(99, 7), pb.string(100, 'future'), pb.fixed32(101, 5), pb.fixed64(102, 9n)),
    });
    const body = pb.concat(otlp.logsRequestPb(logs([rec])), pb.string(1000, 'unknown top-level field'));
    const res = await d.post('/v1/logs', body, otlp.CT_PROTOBUF);
    assert.equal(res.status, 200, `unknown fields must be ignored: ${show(res)}`);
    await assertStored(rec, 'unknown fields');
  });

  itCase('Content-Type with parameters (application/json; charset=utf-8) is accepted', async () => {
    const rec = goodRecord('charset');
    const res = await d.post('/v1/logs', otlp.logsRequestJson(logs([rec])), { 'Content-Type': 'application/json; charset=utf-8' });
    assert.equal(res.status, 200, show(res));
    await assertStored(rec, 'charset parameter');
  });

  itCase('wrong content type → 415', async () => {
    const body = otlp.logsRequestJson(logs([goodRecord('ct')]));
    for (const ct of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
      const res = await d.post('/v1/logs', body, { 'Content-Type': ct });
      assertStatusSays(res, 415, /content.?type|media.?type|unsupported/i, `Content-Type ${ct}`);
    }
  });

  itCase('wrong method → 405 with Allow: POST', async () => {
    for (const [method, p] of [
      ['GET', '/v1/logs'],
      ['GET', '/v1/traces'],
      ['PUT', '/v1/metrics'],
      ['DELETE', '/v1/logs'],
    ]) {
      const res = await d.request(method, p);
      assertStatusSays(res, 405, /method|not allowed/i, `${method} ${p}`);
      assert.match(String(res.headers.allow || ''), /POST/, `${method} ${p}: a 405 must carry Allow: POST`);
    }
  });

  itCase('unknown path → 404 on both listeners', async () => {
    let res = await d.post('/v1/unknown', '{}', otlp.CT_JSON);
    assertStatusSays(res, 404, /not found|unknown|no such|path/i, 'POST /v1/unknown');
    res = await d.request('GET', '/nope', { listener: 'otlp-http' });
    assertStatusSays(res, 404, /not found|unknown|no such|path/i, 'GET /nope on the OTLP listener');
    res = await d.getJSON('/api/v1/nope');
    assert.equal(res.status, 404, `GET /api/v1/nope: ${show(res)}`);
    assert.equal(typeof res.json?.error, 'string', `API errors are {"error": "..."}: ${res.text.slice(0, 200)}`);
  });

  itCase('after all of it braid still serves and the data sent before is intact', async () => {
    assert.ok(baseline, 'the baseline test must have stored its record');
    for (const p of ['/healthz', '/readyz']) {
      const res = await d.getJSON(p);
      assert.equal(res.status, 200, `${p}: ${show(res)}`);
    }
    const got = await lookup(baseline.rec.traceId);
    assert.equal(got.status, 200, `baseline trace: ${got.status} ${got.text.slice(0, 200)}`);
    assert.deepEqual(got.json, baseline.body, 'the baseline trace must be unchanged');
    const rec = goodRecord('after-all');
    const res = await d.post('/v1/logs', otlp.logsRequestPb(logs([rec])), otlp.CT_PROTOBUF);
    assert.equal(res.status, 200, `ingest after bad input: ${show(res)}`);
    await assertStored(rec, 'ingest after bad input');
  });
});
