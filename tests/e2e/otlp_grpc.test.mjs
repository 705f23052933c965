// End-to-end: OTLP/gRPC. The official OpenTelemetry JS gRPC exporters send the
// shared scenario (with and without gzip); every span and log record is read
// back through the query API and compared field by field, as over OTLP/HTTP.
// Then bad input, with @grpc/grpc-js for whole calls and node:http2 for bytes:
// each gets the status the gRPC and OTLP specs name, the daemon keeps serving,
// nothing stored before is lost; and OK survives kill -9; SIGTERM is graceful.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { after, describe, it } from 'node:test';

import grpc from '@grpc/grpc-js';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

import { daemonFixture, startDaemon } from './lib/daemon.mjs';
import { GRPC_VARIANTS, grpcExporters } from './lib/exporters.mjs';
import * as otlp from './lib/otlp.mjs';
import { decodeExportResponse } from './lib/pbreader.mjs';
import { SERVICES, failedExports, recording, rejectionWarnings, runScenario } from './lib/scenario.mjs';
import { diffExact, expectedLog, failIf, groupRun, verifyTraceBody } from './lib/verify.mjs';

const T = { timeout: 45000 };
const LOGS = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const TRACES = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const HEALTH = '/grpc.health.v1.Health/Check';
const CODE = grpc.status;

// ---- clients -------------------------------------------------------------

// One unary call with raw bytes in and out through @grpc/grpc-js.
function grpcCall(addr, method, body, { metadata, compression } = {}) {
  const options = compression ? { 'grpc.default_compression_algorithm': compression } : {};
  const client = new grpc.Client(`${addr.host}:${addr.port}`, grpc.credentials.createInsecure(), options);
  const id = (b) => b;
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method,
      id,
      id,
      Buffer.from(body),
      metadata || new grpc.Metadata(),
      { deadline: Date.now() + 10000 },
      (err, resp) => {
        client.close();
        resolve(err ? { code: err.code, details: err.details, metadata: err.metadata } : { code: 0, resp });
      },
    );
  });
}

// gRPC message framing: compressed flag, 4-byte big-endian length (which may
// lie), then the bytes.
function frame(bytes, { flag = 0, length } = {}) {
  const b = Buffer.from(bytes);
  const h = Buffer.alloc(5);
  h[0] = flag;
  h.writeUInt32BE(length ?? b.length, 1);
  return Buffer.concat([h, b]);
}

// One request over an HTTP/2 session, byte by byte as given. Resolves with
// the response headers, trailers, DATA and how the stream ended.
function h2request(session, path, { headers = {}, chunks = [], end = true, resetAfterWrite = false } = {}) {
  return new Promise((resolve, reject) => {
    const req = session.request(
      { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers },
      { endStream: false },
    );
    let head = {};
    let trailers = {};
    const data = [];
    req.on('response', (h) => {
      head = h;
    });
    req.on('trailers', (t) => {
      trailers = t;
    });
    req.on('data', (c) => data.push(c));
    req.on('error', () => {
      /* a reset stream also closes; 'close' resolves */
    });
    req.on('close', () => {
      const st = trailers['grpc-status'] ?? head['grpc-status'];
      const msg = trailers['grpc-message'] ?? head['grpc-message'];
      resolve({
        status: head[':status'],
        grpcStatus: st === undefined ? undefined : Number(st),
        grpcMessage: msg === undefined ? undefined : decodeURIComponent(msg),
        acceptEncoding: head['grpc-accept-encoding'],
        headers: head,
        data: Buffer.concat(data),
        rstCode: req.rstCode,
      });
    });
    const timer = setTimeout(() => reject(new Error(`${path}: no answer within 10 s`)), 10000);
    req.on('close', () => clearTimeout(timer));
    for (const c of chunks) req.write(c);
    if (resetAfterWrite) {
      // destroy() resets at once; close() would half-close first (END_STREAM)
      setTimeout(() => req.destroy(), 100);
    } else if (end) {
      req.end();
    }
  });
}

function h2connect(addr) {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://${addr.host}:${addr.port}`);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

async function grpcMetric(d, name) {
  const res = await d.get('/metrics');
  assert.equal(res.status, 200);
  const line = res.text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `/metrics must have ${name}`);
  return Number(line.split(' ')[1]);
}

// ---- the SDK over gRPC ---------------------------------------------------------

describe('OTLP/gRPC ingest with the OpenTelemetry JS SDK', () => {
  const fx = daemonFixture({ label: 'otlp-grpc' });
  let d;
  const W = (fn) =>
    fx.test(async (daemon, t) => {
      d = daemon;
      return fn(t);
    });
  const ledger = Object.fromEntries(
    SERVICES.map((s) => [s, { spans: 0, logs: 0, logsWithTrace: 0, metricPoints: 0 }]),
  );

  after(() => fx.dispose());

  for (const variant of GRPC_VARIANTS) {
    it(
      `${variant.name}: every span and log record comes back field by field`,
      T,
      W(async () => {
        const gz0 = await grpcMetric(d, 'braid_grpc_compressed_requests_total{encoding="gzip"}');
        const run = await runScenario({ label: variant.name, exporters: grpcExporters(d, variant) });
        for (const s of run.spans) ledger[s.resource.attributes['service.name']].spans += 1;
        for (const l of run.logs) {
          const e = ledger[l.resource.attributes['service.name']];
          e.logs += 1;
          if (l.spanContext) e.logsWithTrace += 1;
        }
        assert.deepEqual(failedExports(run.exports), [], `the SDK's ${variant.name} exports must all succeed`);
        assert.deepEqual(rejectionWarnings(run.diagFrom), [], 'braid must not reject any record the SDK sent');
        assert.equal(run.traceIds.length, 3);
        const gz = (await grpcMetric(d, 'braid_grpc_compressed_requests_total{encoding="gzip"}')) - gz0;
        if (variant.compression === 'gzip') assert.ok(gz >= 6, `the exports must arrive gzip-compressed (${gz} did)`);
        else assert.equal(gz, 0, 'no export may arrive compressed');

        for (const [id, g] of groupRun(run)) {
          assert.ok(g.spans.length >= 7, `trace ${id} should have at least 7 spans, the SDK sent ${g.spans.length}`);
          const res = await d.getJSON(`/api/v1/traces/${id}`);
          assert.equal(res.status, 200, `GET /api/v1/traces/${id}: ${res.status} ${res.text.slice(0, 500)}`);
          verifyTraceBody(res.json, id, g.spans, g.logs, { exemplars: [] });
        }
        for (const o of run.outsideLogs) {
          const sent = run.logs.filter((l) => typeof l.body === 'string' && l.body.includes(o.marker));
          assert.equal(sent.length, 1);
          const q = `/api/v1/logs?service=${o.service}&q=${encodeURIComponent(o.marker)}`;
          const res = await d.getJSON(q);
          assert.equal(res.status, 200, `GET ${q}: ${res.status} ${res.text.slice(0, 300)}`);
          assert.equal(res.json.logs.length, 1, `GET ${q} must find exactly the one record: ${res.text.slice(0, 600)}`);
          failIf(diffExact(res.json.logs[0], expectedLog(sent[0]), `log outside spans (${o.service})`, []), 'record outside spans');
        }
      }),
    );
  }

  it(
    'SDK metrics (a counter and a histogram) are accepted over gRPC, with and without gzip',
    T,
    W(async () => {
      for (const variant of GRPC_VARIANTS) {
        const sink = [];
        const exporter = grpcExporters(d, variant)().metrics;
        const provider = new MeterProvider({
          resource: resourceFromAttributes({ 'service.name': 'frontend', 'e2e.run': `metrics ${variant.name}` }),
          readers: [
            new PeriodicExportingMetricReader({
              exporter: recording(exporter, sink, { signal: 'metrics', service: 'frontend' }),
              exportIntervalMillis: 3600000,
              exportTimeoutMillis: 10000,
            }),
          ],
        });
        const meter = provider.getMeter('shop.frontend.metrics', '1.0.0');
        const requests = meter.createCounter('e2e.grpc.requests', { unit: '{request}' });
        const latency = meter.createHistogram('e2e.grpc.latency', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 0.5, 1] } });
        requests.add(3, { 'http.route': '/checkout' });
        latency.record(0.123, { 'http.route': '/checkout' });
        latency.record(0.9, { 'http.route': '/checkout' });
        await provider.forceFlush();
        await provider.shutdown();
        assert.ok(sink.length >= 1, `${variant.name}: the SDK exported nothing`);
        assert.deepEqual(failedExports(sink), [], `${variant.name}: metric export must succeed`);
        for (const e of sink) for (const sm of e.items.scopeMetrics) for (const m of sm.metrics) ledger.frontend.metricPoints += m.dataPoints.length;
      }
      assert.deepEqual(rejectionWarnings(), [], 'braid must not reject any data point the SDK sent');
    }),
  );

  it(
    '/api/v1/services counts exactly what came over gRPC',
    T,
    W(async () => {
      const res = await d.getJSON('/api/v1/services');
      assert.equal(res.status, 200, `${res.status} ${res.text.slice(0, 300)}`);
      assert.deepEqual(res.json.services.map((s) => s.name).sort(), [...SERVICES].sort());
      const out = [];
      for (const s of res.json.services) {
        const e = ledger[s.name];
        diffExact(
          { name: s.name, spans: s.spans, logs: s.logs, logs_with_trace_id: s.logs_with_trace_id, metric_points: s.metric_points },
          { name: s.name, spans: e.spans, logs: e.logs, logs_with_trace_id: e.logsWithTrace, metric_points: e.metricPoints },
          `services[${s.name}]`,
          out,
        );
      }
      failIf(out, '/api/v1/services');
    }),
  );

  it(
    'grpc.health.v1 Health/Check answers SERVING for the server and the OTLP services, NOT_FOUND otherwise',
    T,
    W(async () => {
      const svc = (name) => (name ? Buffer.concat([Buffer.from([0x0a, name.length]), Buffer.from(name)]) : Buffer.alloc(0));
      for (const name of ['', 'opentelemetry.proto.collector.trace.v1.TraceService', 'opentelemetry.proto.collector.logs.v1.LogsService', 'opentelemetry.proto.collector.metrics.v1.MetricsService']) {
        const r = await grpcCall(d.grpcAddr, HEALTH, svc(name));
        assert.equal(r.code, 0, `Health/Check "${name}": ${r.details}`);
        assert.deepEqual([...r.resp], [0x08, 0x01], `Health/Check "${name}" must answer status SERVING`);
      }
      const r = await grpcCall(d.grpcAddr, HEALTH, svc('acme.Billing'));
      assert.equal(r.code, CODE.NOT_FOUND, `unknown service: ${r.code} ${r.details}`);
      assert.match(r.details, /unknown service/);
    }),
  );
});

// ---- bad input over gRPC -----------------------------------------------------------

describe('bad OTLP/gRPC input', () => {
  const fx = daemonFixture({ label: 'grpc-bad-input', args: ['--max-request-size', '1MiB'] });
  let d;
  let baseline;
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
        // still serving: a valid export over gRPC is stored
        const rec = goodRecord(`after ${name}`);
        const r = await grpcCall(d.grpcAddr, LOGS, otlp.logsRequestPb(logs([rec])));
        assert.equal(r.code, 0, `a valid export after "${name}" must succeed: ${r.details}`);
        await assertStored(rec, `after "${name}"`);
        if (baseline) await assertStored(baseline, `the baseline after "${name}"`);
      }),
    );

  const RESOURCE = { 'service.name': 'grpc-bad-input' };
  const logs = (records) => [{ resource: RESOURCE, scopes: [{ scope: { name: 'bad-input', version: '1' }, records }] }];
  function goodRecord(tag) {
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
    };
  }
  async function assertStored(rec, what) {
    const res = await d.getJSON(`/api/v1/traces/${rec.traceId}`);
    assert.equal(res.status, 200, `${what}: record ${rec.traceId} must be stored: ${res.status} ${res.text.slice(0, 200)}`);
    const got = res.json.logs.filter((l) => l.attributes?.['e2e.tag'] === rec.attributes['e2e.tag']);
    assert.equal(got.length, 1, `${what}: stored once: ${res.text.slice(0, 300)}`);
    assert.equal(got[0].body, rec.body);
    assert.equal(got[0].time_unix_nano, rec.time.toString());
  }

  after(() => fx.dispose());

  itCase('a valid export before any bad input is stored (the baseline)', async () => {
    const rec = goodRecord('baseline');
    const r = await grpcCall(d.grpcAddr, LOGS, otlp.logsRequestPb(logs([rec])));
    assert.equal(r.code, 0, `baseline: ${r.details}`);
    assert.equal(decodeExportResponse(r.resp).partialSuccess, null, 'an all-valid export has no partial_success');
    await assertStored(rec, 'baseline');
    baseline = rec;
  });

  itCase('garbage protobuf → INVALID_ARGUMENT with what is wrong', async () => {
    for (const body of [Buffer.from('not a protobuf at all'), Buffer.from([0x0a, 0x80]), Buffer.from([0x0a, 0x7f, 1, 2, 3])]) {
      const r = await grpcCall(d.grpcAddr, LOGS, body);
      assert.equal(r.code, CODE.INVALID_ARGUMENT, `${body.toString('hex')}: ${r.code} ${r.details}`);
      assert.match(r.details, /protobuf|wire|length|varint|truncat|end|field/i, `the message must say what is wrong: "${r.details}"`);
    }
  });

  itCase('a record with a bad trace id → OK with partial_success rejecting exactly it', async () => {
    const good = goodRecord('partial-good');
    const bad = { ...goodRecord('partial-bad'), traceId: 'abcd' };
    const r = await grpcCall(d.grpcAddr, LOGS, otlp.logsRequestPb(logs([good, bad])));
    assert.equal(r.code, 0, r.details);
    const { partialSuccess } = decodeExportResponse(r.resp);
    assert.equal(partialSuccess?.rejected, 1n, `rejected_log_records must be 1: ${partialSuccess?.rejected} ${partialSuccess?.errorMessage}`);
    assert.match(partialSuccess.errorMessage, /trace/i);
    await assertStored(good, 'partial success');
  });

  itCase('unknown service or method → UNIMPLEMENTED', async () => {
    let r = await grpcCall(d.grpcAddr, '/acme.Billing/Charge', Buffer.alloc(0));
    assert.equal(r.code, CODE.UNIMPLEMENTED, `${r.code} ${r.details}`);
    assert.match(r.details, /unknown service acme\.Billing/);
    r = await grpcCall(d.grpcAddr, '/opentelemetry.proto.collector.logs.v1.LogsService/Import', Buffer.alloc(0));
    assert.equal(r.code, CODE.UNIMPLEMENTED, `${r.code} ${r.details}`);
    assert.match(r.details, /unknown method Import/);
  });

  itCase('over --max-request-size → RESOURCE_EXHAUSTED, also after gunzip', async () => {
    const big = otlp.logsRequestPb(logs([{ ...goodRecord('big'), body: 'x'.repeat(1100 * 1024) }]));
    let r = await grpcCall(d.grpcAddr, LOGS, big);
    assert.equal(r.code, CODE.RESOURCE_EXHAUSTED, `${r.code} ${r.details}`);
    assert.match(r.details, /larger than the limit of 1048576 bytes/);
    r = await grpcCall(d.grpcAddr, LOGS, big, { compression: 2 /* gzip */ });
    assert.equal(r.code, CODE.RESOURCE_EXHAUSTED, `gzip: ${r.code} ${r.details}`);
    assert.match(r.details, /decompressed request message is larger than the limit/);
  });

  itCase('byte-level framing errors → INTERNAL / UNIMPLEMENTED, each on its own stream', async () => {
    const s = await h2connect(d.grpcAddr);
    try {
      const msg = otlp.logsRequestPb(logs([goodRecord('framing')]));
      const cases = [
        { why: 'length prefix longer than the data', chunks: [frame(msg, { length: msg.length + 100 })], code: CODE.INTERNAL, re: /length prefix says/ },
        { why: 'length prefix shorter than the data', chunks: [frame(msg, { length: msg.length - 10 })], code: CODE.INTERNAL, re: /more than one request message|inside a message/ },
        { why: 'compressed flag without grpc-encoding', chunks: [frame(zlib.gzipSync(msg), { flag: 1 })], code: CODE.INTERNAL, re: /compressed-flag set on a message without a grpc-encoding/ },
        { why: 'an unknown grpc-encoding', headers: { 'grpc-encoding': 'snappy' }, chunks: [frame(msg, { flag: 1 })], code: CODE.UNIMPLEMENTED, re: /not supported/ },
        { why: 'no message at all', chunks: [], code: CODE.INTERNAL, re: /no request message/ },
      ];
      for (const c of cases) {
        const r = await h2request(s, LOGS, { headers: c.headers, chunks: c.chunks });
        assert.equal(r.status, 200, `${c.why}: HTTP ${r.status}`);
        assert.equal(r.grpcStatus, c.code, `${c.why}: grpc-status ${r.grpcStatus} "${r.grpcMessage}"`);
        assert.match(r.grpcMessage, c.re, `${c.why}: grpc-message "${r.grpcMessage}"`);
        assert.equal(r.acceptEncoding, 'identity,deflate,gzip', `${c.why}: grpc-accept-encoding`);
        assert.equal(r.data.length, 0, `${c.why}: no response message`);
      }
      // a gzip message declared properly goes through on the same connection
      const ok = await h2request(s, LOGS, { headers: { 'grpc-encoding': 'gzip' }, chunks: [frame(zlib.gzipSync(msg), { flag: 1 })] });
      assert.equal(ok.grpcStatus, 0, `gzip: ${ok.grpcStatus} ${ok.grpcMessage}`);
      assert.equal(ok.data.length, 5, 'an all-valid export answers an empty ExportLogsServiceResponse');
      // not gRPC at all
      const ct = await h2request(s, LOGS, { headers: { 'content-type': 'application/json' }, chunks: [Buffer.from('{}')] });
      assert.equal(ct.status, 415);
    } finally {
      s.close();
    }
  });

  itCase('a stream reset halfway, and a client that vanishes mid-request, cost nothing', async () => {
    const cancelled0 = await grpcMetric(d, 'braid_grpc_cancelled_streams_total');
    const s = await h2connect(d.grpcAddr);
    const rec = goodRecord('reset-halfway');
    const msg = otlp.logsRequestPb(logs([rec]));
    const half = frame(msg).subarray(0, 20);
    const r = await h2request(s, LOGS, { chunks: [half], end: false, resetAfterWrite: true });
    assert.equal(r.grpcStatus, undefined, 'a reset stream gets no answer');
    s.close();
    // another connection dies with a request half sent
    const s2 = await h2connect(d.grpcAddr);
    const req = s2.request({ ':method': 'POST', ':path': LOGS, 'content-type': 'application/grpc' }, { endStream: false });
    req.on('error', () => {});
    req.write(frame(Buffer.alloc(200000, 1), { length: 500000 }));
    await new Promise((ok) => setTimeout(ok, 200));
    s2.destroy();
    let cancelled = 0;
    for (let i = 0; i < 50 && cancelled < 2; i++) {
      cancelled = (await grpcMetric(d, 'braid_grpc_cancelled_streams_total')) - cancelled0;
      if (cancelled < 2) await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.equal(cancelled, 2, 'both abandoned streams are counted as cancelled and freed');
    assert.equal(await grpcMetric(d, 'braid_grpc_calls_in_flight'), 0);
    const res = await d.getJSON(`/api/v1/traces/${rec.traceId}`);
    assert.equal(res.status, 404, 'the half-sent record must not be stored');
  });

  itCase('many concurrent streams on one connection and many connections', async () => {
    const s = await h2connect(d.grpcAddr);
    const recs = Array.from({ length: 60 }, (_, i) => goodRecord(`concurrent-${i}`));
    try {
      const answers = await Promise.all(
        recs.map((rec) => h2request(s, LOGS, { chunks: [frame(otlp.logsRequestPb(logs([rec])))] })),
      );
      answers.forEach((a, i) => assert.equal(a.grpcStatus, 0, `stream ${i}: ${a.grpcStatus} ${a.grpcMessage}`));
    } finally {
      s.close();
    }
    const more = Array.from({ length: 20 }, (_, i) => goodRecord(`conn-${i}`));
    const results = await Promise.all(more.map((rec) => grpcCall(d.grpcAddr, LOGS, otlp.logsRequestPb(logs([rec])))));
    results.forEach((r, i) => assert.equal(r.code, 0, `connection ${i}: ${r.details}`));
    for (const rec of [...recs, ...more]) await assertStored(rec, rec.attributes['e2e.tag']);
  });

  itCase('PING is answered', async () => {
    const s = await h2connect(d.grpcAddr);
    try {
      const rtt = await new Promise((ok, fail) => s.ping((err, ms) => (err ? fail(err) : ok(ms))));
      assert.ok(rtt >= 0);
    } finally {
      s.close();
    }
  });
});

// ---- acknowledgement and shutdown ------------------------------------------------

describe('OTLP/gRPC acknowledgement and shutdown', () => {
  it('an OK means the rows are in the WAL: they survive kill -9', T, async () => {
    const d = await startDaemon({ label: 'grpc-durable' });
    try {
      const now = otlp.nowNs();
      const rec = {
        time: now - 1000000001n,
        observed: now - 1000000000n,
        severityNumber: 13,
        severityText: 'WARN',
        body: 'acknowledged over grpc',
        attributes: { 'e2e.tag': 'durable' },
        traceId: otlp.newTraceId(),
        spanId: otlp.newSpanId(),
        flags: 1,
      };
      const body = otlp.logsRequestPb([{ resource: { 'service.name': 'durable' }, scopes: [{ scope: { name: 'd' }, records: [rec] }] }]);
      const r = await grpcCall(d.grpcAddr, LOGS, body);
      assert.equal(r.code, 0, r.details);
      await d.kill9();
      await d.start();
      const res = await d.getJSON(`/api/v1/traces/${rec.traceId}`);
      assert.equal(res.status, 200, `after kill -9 the acknowledged record must be there: ${res.status} ${res.text.slice(0, 200)}`);
      assert.equal(res.json.logs.length, 1);
      assert.equal(res.json.logs[0].body, rec.body);
    } finally {
      await d.dispose();
    }
  });

  it('SIGTERM with idle and busy gRPC connections open: GOAWAY, clean exit 0', T, async () => {
    const d = await startDaemon({ label: 'grpc-shutdown' });
    const idle = await h2connect(d.grpcAddr);
    const goaway = new Promise((ok) => idle.once('goaway', (code) => ok(code)));
    idle.on('error', () => {});
    const busy = await h2connect(d.grpcAddr);
    busy.on('error', () => {});
    const req = busy.request({ ':method': 'POST', ':path': TRACES, 'content-type': 'application/grpc' }, { endStream: false });
    req.on('error', () => {});
    req.write(frame(Buffer.alloc(10), { length: 1000 }));
    await new Promise((ok) => setTimeout(ok, 100));
    const t0 = Date.now();
    await d.stop({ timeoutMs: 20000 }); // throws unless the exit code is 0
    assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR, 'idle connections get a GOAWAY NO_ERROR');
    assert.ok(Date.now() - t0 < 15000, 'a stalled upload delays shutdown by the close timeout at most');
    idle.destroy();
    busy.destroy();
    await d.dispose();
  });
});
