// End-to-end: correlation health and `braid doctor`. A daemon with a short
// grace period gets `braid demo --seed 3 --once 2000` (its known defects:
// notifications logs without trace context, inventory logs with Datadog
// decimal ids, ~5 % of queue consumers losing their parent, a trace_id label
// on checkout.cart.size, 10 % of traces sampled out) and a tailed directory
// laid out like /var/log/containers with two more defects: `billing` logs
// real demo trace ids as upper-case hex under "TraceID" (format drift only:
// the links resolve) and `shipping` logs sampled traceparents of traces that
// never arrive (dangling, lost). `braid doctor --json` must report exactly
// those findings, with counts in the demo's known ratios, exit 1; the same
// after a restart; exit 3 against a closed port. A second daemon fed
// `braid demo --clean` and clean tailed lines must leave only "info"
// findings and exit 0.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';

import { braidBin, makeDataDir, startDaemon } from './lib/daemon.mjs';

const T = { timeout: 180000 };
const N = 2000; // requests sent by the demo
const SEED = '3';
// src/demo/demo.h
const DEMO_SAMPLED_OUT = 0.1;
const DEMO_LOST_CONTEXT = 0.05;
const AUTH_OK = 0.99; // src/demo/demo_gen.c: 1 % of auth.verify calls fail
const SIGMAS = 4;
const BILLING_LINES = 40;
const SHIPPING_TRACES = 30;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hex = (n) => crypto.randomBytes(n).toString('hex');
const CID = (name) => crypto.createHash('sha256').update(name).digest('hex');

// Runs build/braid; the environment carries no BRAID_* setting but `env`.
function run(args, { timeout = 60000, env = {} } = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BRAID_')));
  return new Promise((resolve) => {
    execFile(braidBin(), args, { timeout, maxBuffer: 64 << 20, env: { ...base, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

// [lo, hi] for a binomial count of n trials with probability p, +-4 sigma.
function band(n, p) {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  return [Math.floor(mean - SIGMAS * sd), Math.ceil(mean + SIGMAS * sd)];
}

function inBand(v, [lo, hi], what) {
  assert.ok(Number.isInteger(v), `${what}: ${v} is not a whole count`);
  assert.ok(v >= lo && v <= hi, `${what}: ${v} outside [${lo}, ${hi}]`);
}

let criClock = BigInt(Date.now()) * 1000000n;
function cri(msg) {
  criClock += 1234567n;
  const iso = new Date(Number(criClock / 1000000n)).toISOString();
  return `${iso.slice(0, 19)}.${String(criClock % 1000000000n).padStart(9, '0')}Z stdout F ${msg}\n`;
}

function writePod(dir, pod, container, lines) {
  const file = path.join(dir, `${pod}_shop_${container}-${CID(pod)}.log`);
  fs.appendFileSync(file, lines.map(cri).join(''));
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

const server = (d) => `http://127.0.0.1:${d.apiAddr.port}`;
const otlp = (d) => `http://127.0.0.1:${d.otlpAddr.port}`;

async function correlation(d) {
  const res = await d.get('/api/v1/correlation');
  assert.equal(res.status, 200, res.text);
  return res.json;
}

// Polls until every expected service is there with its log count and no
// link is pending, then returns the report.
async function settled(d, logsWanted, deadlineMs = 60000) {
  const until = Date.now() + deadlineMs;
  let rep;
  for (;;) {
    rep = await correlation(d);
    const by = new Map(rep.services.map((s) => [s.service, s]));
    const missing = Object.entries(logsWanted).filter(([svc, n]) => by.get(svc)?.logs !== n);
    const pending = rep.services.filter((s) => s.links.pending > 0).map((s) => s.service);
    if ((missing.length === 0 && pending.length === 0) || Date.now() > until) {
      assert.deepEqual(missing, [], `services without all their logs: ${JSON.stringify(rep.services)}`);
      assert.deepEqual(pending, [], 'links still pending past the grace period');
      return rep;
    }
    await sleep(250);
  }
}

// The stored trace ids of `count` demo requests, from the query API.
async function demoTraceIds(d, count) {
  const res = await d.get(`/api/v1/traces?service=frontend&limit=${count}&start=1h`);
  assert.equal(res.status, 200, res.text);
  const ids = res.json.traces.map((t) => t.trace_id);
  assert.equal(ids.length, count);
  return ids;
}

// A finding as "severity kind service [field=…] [form=…] [metric=…] [label=…] [caller=…]".
const key = (f) =>
  [
    f.severity,
    f.kind,
    f.service,
    ...['field', 'form', 'metric', 'label', 'caller'].filter((k) => k in f).map((k) => `${k}=${f[k]}`),
  ].join(' ');

function checkShape(f) {
  assert.ok(f.total > 0, `${key(f)}: total ${f.total}`);
  assert.ok(Math.abs(f.share - f.count / f.total) < 1e-3, `${key(f)}: share ${f.share} vs ${f.count}/${f.total}`);
  assert.ok(Array.isArray(f.examples) && f.examples.length >= 1 && f.examples.length <= 3, `${key(f)}: examples`);
  if (f.kind !== 'cardinality') {
    for (const e of f.examples) assert.match(e, /^[0-9a-f]{32}$/, `${key(f)}: example ${e}`);
  }
  assert.ok(typeof f.message === 'string' && f.message.includes(f.service), `${key(f)}: message ${f.message}`);
}

describe('correlation health and braid doctor', () => {
  const root = makeDataDir('braid-e2e-corr-');
  const logs = path.join(root, 'containers');
  const cleanLogs = path.join(root, 'containers-clean');
  fs.mkdirSync(logs);
  fs.mkdirSync(cleanLogs);
  let d = null;
  let clean = null;
  let first = null; // the defective run's report
  const billingIds = [];
  const shippingIds = [];

  after(async () => {
    for (const x of [d, clean]) if (x) await x.dispose().catch(() => {});
    if (!process.env.BRAID_E2E_KEEP) fs.rmSync(root, { recursive: true, force: true });
  });

  it('reports exactly the injected defects, and doctor exits 1', T, async () => {
    d = await startDaemon({
      dataDir: path.join(root, 'data'),
      args: ['--correlation-grace', '1s', '--tail', path.join(logs, '*.log')],
      label: 'corr',
    });
    const demo = await run(['demo', '--seed', SEED, '--once', String(N), '--quiet', '--otlp', otlp(d)]);
    assert.equal(demo.code, 0, demo.stderr);

    // billing: real demo traces, upper-case, under "TraceID"
    const real = await demoTraceIds(d, BILLING_LINES);
    billingIds.push(...real);
    writePod(
      logs,
      'billing-6d9f8c7b5-k2v7q',
      'billing',
      real.map((tid, i) =>
        JSON.stringify({ level: 'info', msg: `invoice created #${i}`, TraceID: tid.toUpperCase(), amount: 10 + i }),
      ),
    );
    // shipping: sampled traceparents of traces that never arrive
    const lines = [];
    for (let i = 0; i < SHIPPING_TRACES; i++) {
      const tid = hex(16);
      shippingIds.push(tid);
      lines.push(JSON.stringify({ level: 'info', msg: `label printed #${i}`, traceparent: `00-${tid}-${hex(8)}-01` }));
    }
    writePod(logs, 'shipping-5b8c7d6f9-r4t8n', 'shipping', lines);

    await sleep(1500); // past the grace period of the last rows
    const rep = await settled(d, { billing: BILLING_LINES, shipping: SHIPPING_TRACES });
    first = rep;
    assert.equal(rep.ok, false);
    assert.equal(rep.grace_seconds, 1);
    assert.equal(rep.sample_rate, 1);
    const svc = new Map(rep.services.map((s) => [s.service, s]));
    assert.deepEqual(
      [...svc.keys()].sort(),
      ['auth', 'billing', 'checkout', 'frontend', 'inventory', 'notifications', 'payment', 'shipping'],
    );

    const doc = await run(['doctor', '--json', '--server', server(d)]);
    assert.equal(doc.code, 1, doc.stderr);
    const out = JSON.parse(doc.stdout);
    assert.equal(out.ok, false);
    assert.deepEqual(out.findings.map(key), rep.findings.map(key), 'doctor --json prints the API body');

    // Exactly the expected findings, faults first.
    const want = [
      'fault coverage notifications',
      'fault dangling_truncated inventory field=dd.trace_id form=decimal',
      'fault format_drift inventory field=dd.trace_id form=decimal',
      'fault lost_context notifications caller=checkout',
      'fault cardinality checkout metric=checkout.cart.size label=trace_id',
      'fault format_drift billing field=TraceID form=hex32_upper',
      'fault dangling_lost shipping',
      'info sampled_out frontend',
      'info sampled_out checkout',
      'info sampled_out auth',
      'info sampled_out payment',
    ];
    assert.deepEqual(out.findings.map(key).sort(), want.sort());
    const sev = out.findings.map((f) => f.severity);
    assert.deepEqual(sev, [...sev].sort((a, b) => (a === b ? 0 : a === 'fault' ? -1 : 1)), 'faults first');
    for (let i = 1; i < out.findings.length; i++) {
      if (out.findings[i].severity === out.findings[i - 1].severity) {
        assert.ok(out.findings[i].count <= out.findings[i - 1].count, 'by count descending');
      }
    }
    for (const f of out.findings) checkShape(f);
    const find = (kind, service) => out.findings.find((f) => f.kind === kind && f.service === service);

    // Requests past auth.verify reach inventory, payment and notifications
    // (no incident in this run, so every payment succeeds).
    const passed = svc.get('inventory').logs;
    inBand(passed, band(N, AUTH_OK), 'requests past auth');
    assert.equal(svc.get('notifications').logs, passed);
    assert.equal(svc.get('payment').links.traces, passed);

    const cov = find('coverage', 'notifications');
    assert.equal(cov.count, passed);
    assert.equal(cov.total, passed);
    assert.equal(svc.get('notifications').logs_with_trace_id, 0);
    assert.equal(svc.get('notifications').coverage, 0);

    for (const kind of ['dangling_truncated', 'format_drift']) {
      const f = find(kind, 'inventory');
      assert.equal(f.count, passed, kind);
      assert.equal(f.total, passed, kind);
    }
    assert.equal(svc.get('inventory').links.truncated, passed);
    assert.equal(svc.get('inventory').links.linked, 0);
    assert.deepEqual(svc.get('inventory').id_fields, [{ field: 'dd.trace_id', form: 'decimal', count: passed }]);

    // Lost consumers whose own new trace was kept (sampled).
    const lc = find('lost_context', 'notifications');
    const consumersBand = band(passed, 1 - DEMO_SAMPLED_OUT);
    inBand(lc.count, band(passed, DEMO_LOST_CONTEXT * (1 - DEMO_SAMPLED_OUT)), 'lost-context roots');
    inBand(lc.total, consumersBand, 'stored consumer spans');
    assert.equal(svc.get('notifications').spans_detail.lost_context_roots, lc.count);
    assert.equal(svc.get('notifications').spans_detail.entry_spans, lc.total);
    const edge = out.edges.find((e) => e.caller === 'checkout' && e.callee === 'notifications');
    assert.ok(edge, JSON.stringify(out.edges));
    assert.equal(edge.lost_context, lc.count);
    assert.equal(edge.calls, lc.total - lc.count);
    for (const tid of lc.examples) {
      const t = await d.get(`/api/v1/traces/${tid}`);
      assert.equal(t.status, 200, `lost-context example ${tid} opens`);
      const roots = t.json.spans.filter((s) => !s.parent_span_id);
      assert.equal(roots.length, 1);
      assert.equal(roots[0].service, 'notifications');
      assert.equal(roots[0].name, 'process order-events');
    }

    const card = find('cardinality', 'checkout');
    assert.equal(card.count, N);
    assert.equal(card.total, N);
    inBand(card.distinct, [Math.floor(N * (1 - SIGMAS * 0.065)), Math.ceil(N * (1 + SIGMAS * 0.065))], 'distinct');
    for (const v of card.examples) assert.match(v, /^[0-9a-f]{32}$/);

    const sampled = find('sampled_out', 'frontend').count;
    inBand(sampled, band(N, DEMO_SAMPLED_OUT), 'sampled-out traces');
    for (const s of ['frontend', 'checkout', 'auth']) {
      const f = find('sampled_out', s);
      assert.equal(f.count, sampled, s);
      assert.equal(f.total, N, s);
      assert.equal(svc.get(s).links.linked + sampled, N, s);
      assert.equal(svc.get(s).links.lost, 0, s);
    }
    const pay = find('sampled_out', 'payment');
    assert.equal(pay.total, passed);
    assert.ok(pay.count <= sampled);
    inBand(pay.count, band(passed, DEMO_SAMPLED_OUT), 'payment sampled-out traces');
    for (const tid of find('sampled_out', 'frontend').examples) {
      const t = await d.get(`/api/v1/logs?trace_id=${tid}`);
      assert.equal(t.status, 200);
      assert.ok(t.json.logs.some((l) => l.service === 'frontend' && (l.flags & 1) === 0), `example ${tid}`);
    }

    const drift = find('format_drift', 'billing');
    assert.equal(drift.count, BILLING_LINES);
    assert.equal(drift.total, BILLING_LINES);
    for (const e of drift.examples) assert.ok(billingIds.includes(e), `billing example ${e}`);
    assert.deepEqual(svc.get('billing').links, {
      traces: BILLING_LINES,
      linked: BILLING_LINES,
      sampled_out: 0,
      lost: 0,
      truncated: 0,
      pending: 0,
    });
    assert.equal(svc.get('billing').emits_spans, false);

    const lost = find('dangling_lost', 'shipping');
    assert.equal(lost.count, SHIPPING_TRACES);
    assert.equal(lost.total, SHIPPING_TRACES);
    for (const e of lost.examples) assert.ok(shippingIds.includes(e), `shipping example ${e}`);
    assert.deepEqual(svc.get('shipping').id_fields, [{ field: 'traceparent', form: 'traceparent', count: SHIPPING_TRACES }]);

    // The readable report names every service and exits 1 too.
    const text = await run(['doctor', '--server', server(d)]);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^braid doctor: correlation health from \S+ to \S+\nNOT OK: 7 faults \(4 notes, 8 services\)\n/);
    for (const s of svc.keys()) assert.ok(text.stdout.includes(s), `readable report mentions ${s}`);
    assert.ok(text.stdout.includes('FAULT coverage in notifications: '));
    assert.ok(text.stdout.includes('  field "TraceID", hex32_upper form\n'));
    assert.ok(text.stdout.includes('  called by checkout\n'));
    assert.equal(text.stderr, '');

    // --service narrows the report; BRAID_SERVER is the default server.
    const one = await run(['doctor', '--json', '--service', 'shipping', '--since', '2h'], {
      env: { BRAID_SERVER: server(d) },
    });
    assert.equal(one.code, 1, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout).findings.map(key), ['fault dangling_lost shipping']);
    const billing = await run(['doctor', '--service', 'billing', '--server', server(d)]);
    assert.equal(billing.code, 1, billing.stderr);
    assert.ok(billing.stdout.includes('NOT OK: 1 fault (0 notes, 1 service)\n'), billing.stdout);
  });

  it('doctor: exit 3 when the server cannot be reached, 2 on a usage error', T, async () => {
    const port = await freePort();
    const r = await run(['doctor', '--server', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+ .*braid serve/);
    assert.equal((await run(['doctor', '--since', 'yesterday'])).code, 2);
    assert.equal((await run(['doctor', '--bogus'])).code, 2);
    assert.equal((await run(['doctor', '--server'])).code, 2);
  });

  it('keeps the report across a restart', T, async () => {
    assert.ok(first, 'the first test ran');
    await d.restart();
    assert.equal(d.starts, 2);
    const rep = await correlation(d);
    const strip = (r) => ({ ...r, start_unix_nano: null, end_unix_nano: null });
    assert.deepEqual(strip(rep), strip(first));
    const doc = await run(['doctor', '--json', '--server', server(d)]);
    assert.equal(doc.code, 1, doc.stderr);
  });

  it('the same traffic without defects: only info findings, doctor exits 0', T, async () => {
    clean = await startDaemon({
      args: ['--correlation-grace', '1s', '--tail', path.join(cleanLogs, '*.log')],
      label: 'corr-clean',
    });
    const demo = await run(['demo', '--seed', SEED, '--once', String(N), '--clean', '--quiet', '--otlp', otlp(clean)]);
    assert.equal(demo.code, 0, demo.stderr);
    const real = await demoTraceIds(clean, BILLING_LINES);
    writePod(
      cleanLogs,
      'billing-6d9f8c7b5-k2v7q',
      'billing',
      real.map((tid, i) => JSON.stringify({ level: 'info', msg: `invoice created #${i}`, trace_id: tid })),
    );
    await sleep(1500);
    const rep = await settled(clean, { billing: BILLING_LINES });
    assert.equal(rep.ok, true);
    const doc = await run(['doctor', '--json', '--server', server(clean)]);
    assert.equal(doc.code, 0, doc.stderr);
    const out = JSON.parse(doc.stdout);
    assert.equal(out.ok, true);
    const services = ['frontend', 'checkout', 'auth', 'inventory', 'payment', 'notifications'];
    assert.deepEqual(out.findings.map(key).sort(), services.map((s) => `info sampled_out ${s}`).sort());
    for (const f of out.findings) checkShape(f);
    // The same seed draws the same requests: the same traces are sampled out.
    const was = (s) => first.findings.find((f) => f.kind === 'sampled_out' && f.service === s).count;
    const now = (s) => out.findings.find((f) => f.service === s).count;
    for (const s of ['frontend', 'checkout', 'auth', 'payment']) assert.equal(now(s), was(s), s);
    assert.equal(now('inventory'), was('payment'));
    assert.equal(now('notifications'), was('payment'));
    for (const s of out.services) {
      assert.equal(s.coverage, 1, s.service);
      assert.equal(s.links.lost + s.links.truncated + s.links.pending, 0, s.service);
      assert.equal(s.spans_detail.missing_parent + s.spans_detail.lost_context_roots, 0, s.service);
    }
    const billing = out.services.find((s) => s.service === 'billing');
    assert.equal(billing.links.linked, BILLING_LINES);

    const text = await run(['doctor', '--server', server(clean)]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\nok: every threshold holds \(6 notes, 7 services\)\n/);
    assert.ok(!text.stdout.includes('FAULT'));
  });
});
