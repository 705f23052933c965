// End-to-end: the official OpenTelemetry JS SDK exports a three-service
// scenario to braid over OTLP/HTTP (protobuf and JSON, with and without
// gzip); every span, log record and exemplar is read back through the query
// API and compared field by field with what the SDK sent.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

import { daemonFixture } from './lib/daemon.mjs';
import { HTTP_VARIANTS, httpExporters } from './lib/exporters.mjs';
import * as otlp from './lib/otlp.mjs';
import { decodeExportResponse } from './lib/pbreader.mjs';
import { ROOT_NAME, SERVICES, failedExports, recording, rejectionWarnings, runScenario } from './lib/scenario.mjs';
import {
  checkOrder,
  diffExact,
  expectedLog,
  failIf,
  groupRun,
  hrToNs,
  logKey,
  verifyTraceBody,
} from './lib/verify.mjs';

const T = { timeout: 45000 };

describe('OTLP/HTTP ingest with the OpenTelemetry JS SDK', () => {
  const fx = daemonFixture({ label: 'otlp-http' });
  let d;
  const W = (fn) =>
    fx.test(async (daemon, t) => {
      d = daemon;
      return fn(t);
    });
  const runs = new Map(); // variant name -> run
  const exemplarsByTrace = new Map(); // trace id -> expected exemplar rows
  const ledger = Object.fromEntries(
    SERVICES.map((s) => [s, { spans: 0, logs: 0, logsWithTrace: 0, metricPoints: 0 }]),
  );

  const countRun = (run) => {
    for (const s of run.spans) ledger[s.resource.attributes['service.name']].spans += 1;
    for (const l of run.logs) {
      const e = ledger[l.resource.attributes['service.name']];
      e.logs += 1;
      if (l.spanContext) e.logsWithTrace += 1;
    }
  };

  async function scenario(variant) {
    const run = await runScenario({ label: variant.name, exporters: httpExporters(d, variant) });
    countRun(run);
    const failed = failedExports(run.exports);
    assert.deepEqual(failed, [], `the SDK's ${variant.name} exports must all succeed`);
    assert.deepEqual(rejectionWarnings(run.diagFrom), [], 'braid must not reject any record the SDK sent');
    assert.equal(run.traceIds.length, 3);
    runs.set(variant.name, run);
    return run;
  }

  // A run to build on in later tests; made here if its own test failed before storing it.
  async function anyRun(name) {
    if (runs.has(name)) return runs.get(name);
    return scenario(HTTP_VARIANTS.find((v) => v.name === name));
  }

  async function getTrace(id) {
    const res = await d.getJSON(`/api/v1/traces/${id}`);
    assert.equal(res.status, 200, `GET /api/v1/traces/${id}: ${res.status} ${res.text.slice(0, 500)}`);
    assert.ok(res.json, `GET /api/v1/traces/${id}: body is not JSON: ${res.text.slice(0, 200)}`);
    return res.json;
  }

  after(() => fx.dispose());

  for (const variant of HTTP_VARIANTS) {
    it(
      `${variant.name}: every span and log record comes back field by field`,
      T,
      W(async () => {
        const run = await scenario(variant);
        const groups = groupRun(run);
        for (const [id, g] of groups) {
          assert.ok(g.spans.length >= 7, `trace ${id} should have at least 7 spans, the SDK sent ${g.spans.length}`);
          const body = await getTrace(id);
          verifyTraceBody(body, id, g.spans, g.logs, { exemplars: [] });
        }
        // records emitted outside any span: stored, without trace or span id
        for (const o of run.outsideLogs) {
          const sent = run.logs.filter((l) => typeof l.body === 'string' && l.body.includes(o.marker));
          assert.equal(sent.length, 1);
          const q = `/api/v1/logs?service=${o.service}&q=${encodeURIComponent(o.marker)}`;
          const res = await d.getJSON(q);
          assert.equal(res.status, 200, `GET ${q}: ${res.status} ${res.text.slice(0, 300)}`);
          assert.ok(Array.isArray(res.json?.logs), `GET ${q}: no logs array: ${res.text.slice(0, 300)}`);
          assert.equal(res.json.logs.length, 1, `GET ${q} must find exactly the one record: ${res.text.slice(0, 600)}`);
          const exp = expectedLog(sent[0]);
          assert.equal(exp.trace_id, '');
          failIf(diffExact(res.json.logs[0], exp, `log outside spans (${o.service})`, []), 'record outside spans');
        }
      }),
    );
  }

  it(
    'a trace id in upper case or inside a traceparent finds the same trace',
    T,
    W(async () => {
      const run = await anyRun('http/protobuf');
      for (const id of run.traceIds) {
        const want = await getTrace(id);
        const root = run.spans.find((s) => s.spanContext().traceId === id && !s.parentSpanContext);
        for (const form of [id.toUpperCase(), `00-${id}-${root.spanContext().spanId}-01`]) {
          const got = await getTrace(form);
          assert.deepEqual(got, want, `lookup by "${form}" must return the same trace as by "${id}"`);
        }
      }
    }),
  );

  it(
    'a 64-bit trace id as 16 hex digits or as a decimal number finds its 128-bit trace',
    T,
    W(async () => {
      // high nibble >= 8 makes the decimal form 19-20 digits: never confusable with hex
      const low = (8 + Math.floor(Math.random() * 8)).toString(16) + otlp.randomHex(7) + 'a';
      assert.equal(low.length, 16);
      const full = `0000000000000000${low}`;
      const now = otlp.nowNs();
      const rec = {
        time: now - 5000000001n,
        observed: now - 5000000000n,
        severityNumber: 9,
        severityText: 'INFO',
        body: 'sixty-four bit trace id from a legacy tracer',
        attributes: { 'e2e.log.id': `legacy-${low}` },
        traceId: full,
        spanId: otlp.newSpanId(),
        flags: 1,
      };
      const res = await d.post(
        '/v1/logs',
        otlp.logsRequestPb([
          { resource: { 'service.name': 'checkout' }, scopes: [{ scope: { name: 'legacy', version: '0.1' }, records: [rec] }] },
        ]),
        otlp.CT_PROTOBUF,
      );
      assert.equal(res.status, 200, `POST /v1/logs: ${res.status} ${res.text.slice(0, 300)}`);
      const ps = decodeExportResponse(res.body).partialSuccess;
      assert.equal(ps?.rejected ?? 0n, 0n, `a trace id with 64 leading zero bits is valid: ${ps?.errorMessage}`);
      ledger.checkout.logs += 1;
      ledger.checkout.logsWithTrace += 1;

      const want = await getTrace(full);
      assert.equal(want.trace_id, full);
      assert.equal(want.logs.length, 1, `trace ${full} must hold the one log record: ${JSON.stringify(want)}`);
      assert.equal(want.logs[0].time_unix_nano, rec.time.toString());
      assert.equal(want.logs[0].span_id, rec.spanId);
      const decimal = BigInt(`0x${low}`).toString(10);
      for (const form of [low, low.toUpperCase(), decimal]) {
        const got = await getTrace(form);
        assert.deepEqual(got, want, `lookup by "${form}" must return trace ${full}`);
      }
    }),
  );

  it(
    'unknown or all-zero trace ids answer 404, malformed ones 400, both with {"error"}',
    T,
    W(async () => {
      for (const id of [otlp.newTraceId(), '0'.repeat(32)]) {
        const res = await d.getJSON(`/api/v1/traces/${id}`);
        assert.equal(res.status, 404, `GET /api/v1/traces/${id}: expected 404, got ${res.status} ${res.text.slice(0, 200)}`);
        assert.equal(typeof res.json?.error, 'string', `404 body must be {"error": "..."}: ${res.text.slice(0, 200)}`);
        assert.ok(res.json.error.length > 0);
      }
      for (const id of ['not-a-trace-id', 'abc', 'g'.repeat(32), 'a'.repeat(31), 'a'.repeat(33), '00-zz-01']) {
        const res = await d.getJSON(`/api/v1/traces/${encodeURIComponent(id)}`);
        assert.equal(res.status, 400, `GET /api/v1/traces/${id}: expected 400, got ${res.status} ${res.text.slice(0, 200)}`);
        assert.equal(typeof res.json?.error, 'string', `400 body must be {"error": "..."}: ${res.text.slice(0, 200)}`);
        assert.match(res.json.error, /trace|id|hex|invalid|malformed/i, `the error must say the id is bad: ${res.json.error}`);
      }
    }),
  );

  it(
    '/api/v1/logs?trace_id= (and &span_id=) returns exactly that trace’s records, newest first',
    T,
    W(async () => {
      const run = await anyRun('http/json');
      for (const [id, g] of groupRun(run)) {
        const res = await d.getJSON(`/api/v1/logs?trace_id=${id}&limit=1000`);
        assert.equal(res.status, 200, `${res.status} ${res.text.slice(0, 300)}`);
        assert.ok(Array.isArray(res.json?.logs), res.text.slice(0, 300));
        const out = [];
        const got = new Map(res.json.logs.map((l) => [logKey(l), l]));
        assert.equal(got.size, res.json.logs.length, 'no record may be returned twice');
        for (const l of g.logs) {
          const exp = expectedLog(l);
          const a = got.get(logKey(exp));
          if (!a) out.push(`log ${logKey(exp)} missing`);
          else diffExact(a, exp, `logs?trace_id=${id} ${logKey(exp)}`, out);
          got.delete(logKey(exp));
        }
        for (const k of got.keys()) out.push(`unexpected log ${k}`);
        checkOrder(res.json.logs, 'time_unix_nano', 'desc', `logs?trace_id=${id}`, out);
        failIf(out, `/api/v1/logs?trace_id=${id}`);

        // narrowed to one span
        const bySpan = new Map();
        for (const l of g.logs) {
          const s = l.spanContext.spanId;
          bySpan.set(s, [...(bySpan.get(s) || []), logKey(expectedLog(l))]);
        }
        for (const [spanId, keys] of bySpan) {
          const r = await d.getJSON(`/api/v1/logs?trace_id=${id}&span_id=${spanId}&limit=1000`);
          assert.equal(r.status, 200, r.text.slice(0, 300));
          assert.deepEqual(
            r.json.logs.map(logKey).sort(),
            [...keys].sort(),
            `logs of span ${spanId} in trace ${id}`,
          );
        }
      }
    }),
  );

  it(
    '/api/v1/traces?service= lists the traces with exact summaries; status=error, min_duration and limit filter',
    T,
    W(async () => {
      const run = await anyRun('http/protobuf');
      const groups = groupRun(run);
      const list = async (qs) => {
        const res = await d.getJSON(`/api/v1/traces?${qs}`);
        assert.equal(res.status, 200, `GET /api/v1/traces?${qs}: ${res.status} ${res.text.slice(0, 300)}`);
        assert.ok(Array.isArray(res.json?.traces), `GET /api/v1/traces?${qs}: ${res.text.slice(0, 300)}`);
        return res.json.traces;
      };
      const all = await list('service=frontend&limit=1000');
      const out = [];
      checkOrder(all, 'start_unix_nano', 'desc', 'traces?service=frontend', out);
      const errorIds = [];
      const slowIds = [];
      for (const [id, g] of groups) {
        const root = g.spans.find((s) => !s.parentSpanContext);
        const start = hrToNs(root.startTime);
        const dur = hrToNs(root.endTime) - start;
        const errors = g.spans.filter((s) => s.status.code === 2).length;
        if (errors > 0) errorIds.push(id);
        if (dur >= 1000000000n) slowIds.push(id);
        const exp = {
          trace_id: id,
          root_service: 'frontend',
          root_name: ROOT_NAME,
          start_unix_nano: start.toString(),
          duration_ns: dur.toString(),
          span_count: g.spans.length,
          error_count: errors,
          log_count: g.logs.length,
        };
        const got = all.filter((t) => t.trace_id === id);
        if (got.length !== 1) out.push(`trace ${id} listed ${got.length} times under service=frontend`);
        else diffExact(got[0], exp, `summary ${id}`, out);
      }
      failIf(out, '/api/v1/traces?service=frontend');
      assert.equal(errorIds.length, 1, 'the scenario has one failing trace');
      assert.equal(slowIds.length, 1, 'the scenario has one trace over 1s');

      const mine = (rows) => rows.map((t) => t.trace_id).filter((id) => groups.has(id)).sort();
      assert.deepEqual(mine(await list('service=frontend&status=error&limit=1000')), errorIds.sort(), 'status=error');
      assert.deepEqual(mine(await list('service=frontend&min_duration=1s&limit=1000')), slowIds.sort(), 'min_duration=1s');
      assert.deepEqual(mine(await list('service=frontend&min_duration=1000ms&limit=1000')), slowIds.sort(), 'min_duration=1000ms');
      const two = await list('service=frontend&limit=2');
      assert.equal(two.length, 2, 'limit=2 returns 2 of the many traces');
      assert.deepEqual(two, all.slice(0, 2), 'limit keeps the newest');
      assert.deepEqual(await list('service=no-such-service&limit=1000'), [], 'unknown service lists nothing');
    }),
  );

  // Exemplars as OTLP specifies them, built by hand (the JS SDK records none):
  // a histogram point with explicit bounds and two exemplars, and a monotonic
  // sum point with one, each carrying the trace and span of a scenario request.
  function exemplarRequest(run, prefix) {
    const g = groupRun(run);
    const [a, b] = run.traceIds;
    const rootStart = (id) => hrToNs(g.get(id).spans.find((s) => !s.parentSpanContext).startTime);
    const spanOf = (id, svc, name) =>
      g.get(id).spans.find((s) => s.resource.attributes['service.name'] === svc && s.name === name).spanContext().spanId;
    const now = otlp.nowNs();
    const e1 = {
      traceId: a,
      spanId: spanOf(a, 'checkout', 'POST /api/checkout'),
      time: rootStart(a) + 100000001n,
      asDouble: 0.2375,
      filteredAttributes: { 'user.tier': 'gold' },
    };
    const e2 = {
      traceId: b,
      spanId: spanOf(b, 'payment', 'card.authorize'),
      time: rootStart(b) + 900000003n,
      asDouble: 1.1875,
      filteredAttributes: { 'user.tier': 'free', 'e2e.retry': true, 'e2e.attempt': 2 },
    };
    const e3 = {
      traceId: a,
      spanId: spanOf(a, 'checkout', 'reserve inventory'),
      time: rootStart(a) + 15000005n,
      asInt: 3n,
      filteredAttributes: {},
    };
    const hist = {
      name: `${prefix}.checkout.duration`,
      unit: 's',
      description: 'checkout latency',
      histogram: {
        temporality: 2,
        points: [
          {
            attributes: { 'http.route': '/api/checkout', 'http.response.status_code': 200 },
            start: now - 60000000000n,
            time: now - 1000000007n,
            count: 7,
            sum: 3.2,
            bucketCounts: [1, 3, 2, 1],
            bounds: [0.1, 0.25, 1],
            min: 0.05,
            max: 1.1875,
            exemplars: [e1, e2],
          },
        ],
      },
    };
    const sum = {
      name: `${prefix}.inventory.reservations`,
      unit: '{reservation}',
      sum: {
        temporality: 2,
        monotonic: true,
        points: [
          {
            attributes: { warehouse: 'ams-1', express: true },
            start: now - 60000000000n,
            time: now - 1000000007n,
            asInt: 5n,
            exemplars: [e3],
          },
        ],
      },
    };
    const groupsReq = [
      {
        resource: { 'service.name': 'checkout', 'service.version': '1.4.2', 'e2e.source': 'hand-built' },
        scopes: [{ scope: { name: 'shop.checkout.metrics', version: '1.0.0' }, metrics: [hist, sum] }],
      },
    ];
    const row = (e, metric, labels) => ({
      trace_id: e.traceId,
      span_id: e.spanId,
      metric,
      service: 'checkout',
      labels: otlp.attrsApi(labels),
      time_unix_nano: e.time.toString(),
      value: e.asDouble !== undefined ? e.asDouble : Number(e.asInt),
      filtered_attributes: otlp.attrsApi(e.filteredAttributes),
    });
    const expected = [
      row(e1, hist.name, hist.histogram.points[0].attributes),
      row(e2, hist.name, hist.histogram.points[0].attributes),
      row(e3, sum.name, sum.sum.points[0].attributes),
    ];
    return { groupsReq, expected, points: 2 };
  }

  async function checkExemplars(run, expected) {
    for (const e of expected) exemplarsByTrace.set(e.trace_id, [...(exemplarsByTrace.get(e.trace_id) || []), e]);
    const groups = groupRun(run);
    for (const id of new Set(expected.map((e) => e.trace_id))) {
      const want = [...exemplarsByTrace.get(id)].sort((x, y) =>
        BigInt(x.time_unix_nano) < BigInt(y.time_unix_nano) ? -1 : 1,
      );
      const g = groups.get(id);
      verifyTraceBody(await getTrace(id), id, g.spans, g.logs, { exemplars: want });
    }
  }

  it(
    'exemplars sent as OTLP/JSON come back on their traces (metric, labels, value, time to the ns, span)',
    T,
    W(async () => {
      const run = await anyRun('http/protobuf');
      const { groupsReq, expected, points } = exemplarRequest(run, 'e2e.json');
      const res = await d.post('/v1/metrics', otlp.metricsRequestJson(groupsReq), otlp.CT_JSON);
      assert.equal(res.status, 200, `POST /v1/metrics (JSON): ${res.status} ${res.text.slice(0, 300)}`);
      assert.match(String(res.headers['content-type']), /application\/json/);
      assert.ok(res.json && typeof res.json === 'object', `response must be an ExportMetricsServiceResponse in JSON: ${res.text}`);
      assert.ok(
        !res.json.partialSuccess || Number(res.json.partialSuccess.rejectedDataPoints ?? 0) === 0,
        `nothing may be rejected: ${res.text}`,
      );
      ledger.checkout.metricPoints += points;
      await checkExemplars(run, expected);
    }),
  );

  it(
    'exemplars sent as protobuf come back on their traces (metric, labels, value, time to the ns, span)',
    T,
    W(async () => {
      const run = await anyRun('http/json');
      const { groupsReq, expected, points } = exemplarRequest(run, 'e2e.pb');
      const res = await d.post('/v1/metrics', otlp.metricsRequestPb(groupsReq), otlp.CT_PROTOBUF);
      assert.equal(res.status, 200, `POST /v1/metrics (protobuf): ${res.status} ${res.text.slice(0, 300)}`);
      assert.match(String(res.headers['content-type']), /application\/x-protobuf/);
      assert.equal(decodeExportResponse(res.body).partialSuccess?.rejected ?? 0n, 0n, 'nothing may be rejected');
      ledger.checkout.metricPoints += points;
      await checkExemplars(run, expected);
    }),
  );

  it(
    'SDK metrics (a counter and a histogram) are accepted over http/protobuf and http/json',
    T,
    W(async () => {
      for (const variant of HTTP_VARIANTS.filter((v) => v.compression === 'none')) {
        const sink = [];
        const exporter = httpExporters(d, variant)('frontend').metrics;
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
        const requests = meter.createCounter('e2e.requests', { unit: '{request}', description: 'requests served' });
        const latency = meter.createHistogram('e2e.latency', {
          unit: 's',
          advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
        });
        requests.add(3, { 'http.route': '/checkout', 'http.response.status_code': 200 });
        requests.add(1, { 'http.route': '/cart', 'http.response.status_code': 200 });
        latency.record(0.123, { 'http.route': '/checkout' });
        latency.record(0.9, { 'http.route': '/checkout' });
        await provider.forceFlush();
        await provider.shutdown();
        assert.ok(sink.length >= 1, `${variant.name}: the SDK exported nothing`);
        assert.deepEqual(failedExports(sink), [], `${variant.name}: metric export must succeed`);
        for (const e of sink) {
          for (const sm of e.items.scopeMetrics) {
            for (const m of sm.metrics) ledger.frontend.metricPoints += m.dataPoints.length;
          }
        }
      }
      assert.deepEqual(rejectionWarnings(), [], 'braid must not reject any data point the SDK sent');
    }),
  );

  it(
    '/api/v1/services lists exactly the three services with exact counts',
    T,
    W(async () => {
      if (runs.size === 0) await anyRun('http/protobuf');
      const res = await d.getJSON('/api/v1/services');
      assert.equal(res.status, 200, `${res.status} ${res.text.slice(0, 300)}`);
      assert.ok(Array.isArray(res.json?.services), res.text.slice(0, 300));
      const names = res.json.services.map((s) => s.name).sort();
      assert.deepEqual(names, [...SERVICES].sort(), 'service names');
      const out = [];
      for (const s of res.json.services) {
        const e = ledger[s.name];
        diffExact(
          s,
          { name: s.name, spans: e.spans, logs: e.logs, logs_with_trace_id: e.logsWithTrace, metric_points: e.metricPoints },
          `services[${s.name}]`,
          out,
        );
        const ratio = e.logs ? e.logsWithTrace / e.logs : 0;
        if (typeof s.coverage !== 'number') out.push(`services[${s.name}].coverage: expected a number, got ${JSON.stringify(s.coverage)}`);
        // the precision is not part of the contract: allow rounding to 3 places
        else if (Math.abs(s.coverage - ratio) > 1e-3 && Math.abs(s.coverage - 100 * ratio) > 1e-1) {
          out.push(`services[${s.name}].coverage: ${s.coverage} is neither ${ratio} nor ${100 * ratio}%`);
        }
      }
      failIf(out, '/api/v1/services');
    }),
  );
});
