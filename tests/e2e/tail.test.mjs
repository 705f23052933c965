// End-to-end: `braid serve --tail` over a directory laid out like
// /var/log/containers, with four pods writing CRI lines in the styles real
// services use (Go zap JSON, a Java Log4j pattern with trace_id= MDC,
// Python structlog, nginx access lines with a traceparent), rotation by
// rename-and-create and by copytruncate, and a kill -9 + restart in the
// middle of a burst. Every trace must then come back from
// GET /api/v1/logs?trace_id=… with exactly its lines, each once, with the
// pod, namespace and container as resource attributes. Then `braid ingest`
// from a file and from stdin.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';

import { braidBin, makeDataDir, startDaemon } from './lib/daemon.mjs';

const T = { timeout: 120000 };
const CID = (name) => crypto.createHash('sha256').update(name).digest('hex');
const hex = (n) => crypto.randomBytes(n).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const PODS = {
  checkout: { pod: 'checkout-6f7c9d8b5-x7k2p', ns: 'shop', container: 'checkout' },
  payments: { pod: 'payments-5c8d7f6b4-q2w9z', ns: 'shop', container: 'payments' },
  fraud: { pod: 'fraud-7b9c5d4f8-m3n4b', ns: 'risk', container: 'scorer' },
  nginx: { pod: 'ingress-nginx-controller-7d9f8', ns: 'edge', container: 'controller' },
};

let criClock = BigInt(Date.now()) * 1000000n;
function criTime() {
  criClock += 1234567n;
  const ms = criClock / 1000000n;
  const iso = new Date(Number(ms)).toISOString(); // ...sss Z
  return `${iso.slice(0, 19)}.${String(criClock % 1000000000n).padStart(9, '0')}Z`;
}
const cri = (stream, flag, msg) => `${criTime()} ${stream} ${flag} ${msg}\n`;

describe('tail: container logs to trace lookups', () => {
  const root = makeDataDir('braid-e2e-tail-');
  const logs = path.join(root, 'containers');
  const data = path.join(root, 'data');
  fs.mkdirSync(logs);
  const fileOf = (p) => path.join(logs, `${PODS[p].pod}_${PODS[p].ns}_${PODS[p].container}-${CID(p)}.log`);
  let d = null;
  let marker = 0;
  const traces = []; // { tid, sid }
  const expected = new Map(); // tid -> Map(marker -> pod key)

  after(async () => {
    if (d) await d.dispose().catch(() => {});
    if (!process.env.BRAID_E2E_KEEP) fs.rmSync(root, { recursive: true, force: true });
  });

  function expect(tid, m, pod) {
    if (!expected.has(tid)) expected.set(tid, new Map());
    expected.get(tid).set(m, pod);
  }

  // The lines one request of trace i leaves in each pod's log.
  function linesFor(i) {
    const { tid, sid } = traces[i];
    const out = { checkout: '', payments: '', fraud: '', nginx: '' };
    let m = ++marker;
    out.checkout += cri('stdout', 'F', JSON.stringify({ level: 'info', ts: Date.now() / 1000, caller: 'checkout/handler.go:42', msg: `charging card #${m}`, trace_id: tid, span_id: sid, amount: 42.5 }));
    expect(tid, m, 'checkout');
    // a zap line the runtime wrote in two parts (CRI P + F)
    m = ++marker;
    const long = JSON.stringify({ level: 'warn', ts: Date.now() / 1000, msg: `slow inventory call #${m}`, traceID: tid, spanID: sid, detail: 'x'.repeat(300) });
    out.checkout += cri('stdout', 'P', long.slice(0, 120)) + cri('stdout', 'F', long.slice(120));
    expect(tid, m, 'checkout');
    m = ++marker;
    out.payments += cri('stdout', 'F', `2024-04-12 10:00:00,123 INFO  [http-nio-8080-exec-${i % 9}] c.e.payments.Charge - calling provider #${m} trace_id=${tid} span_id=${sid} trace_flags=01`);
    expect(tid, m, 'payments');
    m = ++marker;
    out.payments += cri('stderr', 'F', `2024-04-12 10:00:00,456 ERROR [http-nio-8080-exec-${i % 9}] c.e.payments.Charge - provider timeout #${m} trace_id=${tid.toUpperCase()} span_id=${sid}`);
    expect(tid, m, 'payments');
    m = ++marker;
    out.fraud += cri('stdout', 'F', JSON.stringify({ event: `score computed #${m}`, level: 'info', timestamp: new Date().toISOString(), logger: 'scorer', trace_id: tid, span_id: sid, score: 0.12 }));
    expect(tid, m, 'fraud');
    m = ++marker;
    out.nginx += cri('stdout', 'F', `10.0.${i % 250}.7 - - [12/Apr/2024:10:00:00 +0000] "POST /api/checkout?n=${m} HTTP/1.1" 200 512 "-" "Mozilla/5.0" rt=0.042 traceparent="00-${tid}-${sid}-01" #${m}`);
    expect(tid, m, 'nginx');
    // noise: no trace id, and a trace id under a name that must not match
    out.checkout += cri('stdout', 'F', JSON.stringify({ level: 'debug', msg: `health check ok #${++marker}` }));
    out.fraud += cri('stdout', 'F', JSON.stringify({ event: `audit #${++marker}`, level: 'info', request_id: tid }));
    return out;
  }

  function newTrace() {
    traces.push({ tid: hex(16), sid: hex(8) });
    return traces.length - 1;
  }

  function append(p, s) {
    fs.appendFileSync(fileOf(p), s);
  }

  function writeTraces(from, to) {
    const all = { checkout: '', payments: '', fraud: '', nginx: '' };
    for (let i = from; i < to; i++) {
      const l = linesFor(i);
      for (const p of Object.keys(all)) all[p] += l[p];
    }
    for (const p of Object.keys(all)) append(p, all[p]);
  }

  async function logsOf(tid) {
    const res = await d.get(`/api/v1/logs?trace_id=${tid}&limit=1000`);
    assert.equal(res.status, 200, res.text);
    return res.json.logs;
  }

  // Waits until every expected trace has all its lines (or the deadline),
  // then checks each trace exactly.
  async function verifyAll(label, deadlineMs = 60000) {
    const until = Date.now() + deadlineMs;
    let missing = [];
    for (;;) {
      missing = [];
      for (const [tid, want] of expected) {
        const got = await logsOf(tid);
        if (got.length < want.size) missing.push(`${tid}: ${got.length}/${want.size}`);
      }
      if (missing.length === 0 || Date.now() > until) break;
      await sleep(250);
    }
    assert.deepEqual(missing, [], `${label}: traces still incomplete`);
    await sleep(300); // anything stored twice shows up now
    for (const [tid, want] of expected) {
      const got = await logsOf(tid);
      const seen = new Map();
      for (const l of got) {
        const m = /#(\d+)/.exec(typeof l.body === 'string' ? l.body : JSON.stringify(l.body));
        assert.ok(m, `${label}: row without a marker: ${JSON.stringify(l).slice(0, 300)}`);
        const k = Number(m[1]);
        assert.ok(!seen.has(k), `${label}: line #${k} of ${tid} stored twice`);
        seen.set(k, l);
        const podKey = want.get(k);
        assert.ok(podKey, `${label}: line #${k} returned for ${tid} but belongs elsewhere: ${l.body}`);
        const p = PODS[podKey];
        assert.equal(l.trace_id, tid);
        assert.equal(l.resource['k8s.pod.name'], p.pod, `${label}: #${k} pod`);
        assert.equal(l.resource['k8s.namespace.name'], p.ns, `${label}: #${k} namespace`);
        assert.equal(l.resource['k8s.container.name'], p.container, `${label}: #${k} container`);
        assert.equal(l.resource['container.id'], CID(podKey));
        assert.equal(l.service, p.container, `${label}: #${k} service falls back to the container`);
      }
      assert.equal(seen.size, want.size, `${label}: ${tid} has ${seen.size} of ${want.size} lines`);
    }
  }

  it('follows, rotates both ways, survives kill -9, and answers each trace exactly', T, async () => {
    for (let i = 0; i < 10; i++) newTrace();
    writeTraces(0, 10);
    d = await startDaemon({ dataDir: data, args: ['--tail', path.join(logs, '*.log')], label: 'tail' });
    await verifyAll('initial');

    // a line longer than nothing special: severity and body from each style
    const zap = (await logsOf(traces[0].tid)).find((l) => l.body.startsWith('charging card'));
    assert.equal(zap.severity_text, 'info');
    assert.equal(zap.severity_number, 9);
    assert.equal(zap.span_id, traces[0].sid);
    assert.equal(zap.attributes.caller, 'checkout/handler.go:42');
    assert.equal(zap.resource['log.iostream'], 'stdout');
    const j4 = (await logsOf(traces[0].tid)).find((l) => l.body.includes('provider timeout'));
    assert.equal(j4.severity_number, 17);
    assert.equal(j4.resource['log.iostream'], 'stderr');
    const ngx = (await logsOf(traces[0].tid)).find((l) => l.body.includes('POST /api/checkout'));
    assert.equal(ngx.flags & 1, 1, 'traceparent sampled flag');

    // rename-and-create: the old file keeps getting a few lines after the
    // rename (the writer still had it open) and is read to its end
    for (let i = 10; i < 15; i++) newTrace();
    const ck = fileOf('checkout');
    fs.renameSync(ck, `${ck}.1`);
    const late = linesFor(10);
    fs.appendFileSync(`${ck}.1`, late.checkout);
    for (const p of ['payments', 'fraud', 'nginx']) append(p, late[p]);
    writeTraces(11, 13);

    // copytruncate of payments (after its lines so far are in)
    await verifyAll('rename-and-create');
    const pay = fileOf('payments');
    fs.copyFileSync(pay, `${pay}.1`);
    fs.truncateSync(pay, 0);
    await sleep(100);
    writeTraces(13, 15);
    await verifyAll('copytruncate');

    // kill -9 in the middle of a burst (trace lines spread through ~50,000
    // lines of noise, so the follower is busy when it dies), more lines
    // while it is down, restart
    for (let i = 15; i < 40; i++) newTrace();
    for (let i = 15; i < 30; i++) {
      writeTraces(i, i + 1);
      let noise = '';
      for (let k = 0; k < 1700; k++) noise += cri('stdout', 'F', JSON.stringify({ level: 'info', msg: `request served #${++marker}`, route: '/api/cart', status: 200 }));
      append(i % 2 ? 'checkout' : 'fraud', noise);
      append('nginx', noise);
    }
    await sleep(60);
    await d.kill9();
    writeTraces(30, 40);
    await d.start();
    await verifyAll('kill -9 and restart');

    // a clean restart stores nothing twice
    await d.restart();
    await verifyAll('clean restart', 20000);
  });

  it('braid ingest sends a file and stdin over OTLP/HTTP', T, async () => {
    assert.ok(d && d.alive, 'the daemon of the previous test is running');
    const otlp = `http://127.0.0.1:${d.otlpAddr.port}`;
    const tid = hex(16);
    const file = path.join(root, `backfill-0_batch_job-${CID('job')}.log`);
    const lines = [];
    for (let k = 0; k < 5; k++) lines.push(cri('stdout', 'F', JSON.stringify({ level: 'info', msg: `backfill #${k}`, 'dd.trace_id': BigInt(`0x${tid.slice(16)}`).toString() })));
    fs.writeFileSync(file, lines.join(''));
    const r1 = spawnSync(braidBin(), ['ingest', '--otlp', otlp, file], { encoding: 'utf8' });
    assert.equal(r1.status, 0, r1.stderr);
    const ddTid = `0000000000000000${tid.slice(16)}`;
    let got = await logsOf(ddTid);
    assert.equal(got.length, 5, JSON.stringify(got).slice(0, 500));
    assert.deepEqual(got.map((l) => l.body).sort(), [0, 1, 2, 3, 4].map((k) => `backfill #${k}`));
    assert.equal(got[0].resource['k8s.pod.name'], 'backfill-0');
    assert.equal(got[0].resource['k8s.namespace.name'], 'batch');
    assert.equal(got[0].attributes['log.file.path'], file);

    const tid2 = hex(16);
    const input = `level=error msg="from stdin #1" traceId=${tid2}\nplain line #2 traceparent=00-${tid2}-${hex(8)}-00\n`;
    const r2 = spawnSync(braidBin(), ['ingest', '--otlp', otlp, '-'], { input, encoding: 'utf8' });
    assert.equal(r2.status, 0, r2.stderr);
    got = await logsOf(tid2);
    assert.equal(got.length, 2);
    const err = got.find((l) => l.body === 'from stdin #1');
    assert.equal(err.severity_number, 17);

    const r3 = spawnSync(braidBin(), ['ingest', '--otlp', 'http://127.0.0.1:1', file], { encoding: 'utf8' });
    assert.equal(r3.status, 3, 'unreachable server exits 3');
    const r4 = spawnSync(braidBin(), ['ingest'], { encoding: 'utf8' });
    assert.equal(r4.status, 2, 'usage error exits 2');
  });
});
