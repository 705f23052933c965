// End-to-end durability: what braid acknowledged must survive kill -9, and a
// torn or corrupted tail of the write-ahead log must be cut at start-up
// without losing anything acknowledged before it and without duplicates.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';

import { daemonFixture } from './lib/daemon.mjs';
import * as otlp from './lib/otlp.mjs';
import { decodeExportResponse } from './lib/pbreader.mjs';
import { diffExact, failIf } from './lib/verify.mjs';
import { garbage, newestSegment, parseSegment, walSegments } from './lib/wal.mjs';

const N = 50;
const T = { timeout: 50000 };

describe('durability of acknowledged data', () => {
  const fx = daemonFixture({ label: 'durability' });
  let d;
  const W = (fn) =>
    fx.test(async (daemon, t) => {
      d = daemon;
      return fn(t);
    });
  const acked = []; // batches the daemon acknowledged with 200
  const sacrificed = []; // batches in a deliberately torn/corrupted record: { batch, state }
  const runTag = otlp.randomHex(4);
  const base = otlp.nowNs() - 600000000000n; // ten minutes ago, odd nanoseconds below

  function makeBatch(i) {
    const traceId = otlp.newTraceId();
    const marker = `dur-${runTag}-${i}`;
    const records = [0, 1].map((seq) => ({
      time: base + BigInt(i) * 1000000000n + BigInt(seq) * 1000n + 333n,
      observed: base + BigInt(i) * 1000000000n + 999999n,
      severityNumber: seq === 0 ? 9 : 17,
      severityText: seq === 0 ? 'INFO' : 'ERROR',
      body: seq === 0 ? `batch ${i} started (${marker})` : { event: 'batch.done', batch: i, ok: false },
      attributes: { 'e2e.marker': marker, 'e2e.seq': seq, 'e2e.batch': i },
      traceId,
      spanId: otlp.newSpanId(),
      flags: 1,
    }));
    return { i, traceId, marker, records, encoding: i % 2 ? 'json' : 'protobuf' };
  }

  async function send(batch) {
    const groups = [
      {
        resource: { 'service.name': 'durable-svc', 'e2e.run': runTag },
        scopes: [{ scope: { name: 'durability', version: '1' }, records: batch.records }],
      },
    ];
    const res =
      batch.encoding === 'json'
        ? await d.post('/v1/logs', otlp.logsRequestJson(groups), otlp.CT_JSON)
        : await d.post('/v1/logs', otlp.logsRequestPb(groups), otlp.CT_PROTOBUF);
    assert.equal(res.status, 200, `batch ${batch.i} (${batch.encoding}) not acknowledged: ${res.status} ${res.text.slice(0, 300)}`);
    if (batch.encoding === 'json') {
      assert.ok(!res.json?.partialSuccess || Number(res.json.partialSuccess.rejectedLogRecords ?? 0) === 0, res.text);
    } else {
      assert.equal(decodeExportResponse(res.body).partialSuccess?.rejected ?? 0n, 0n);
    }
    return batch;
  }

  const segList = () =>
    JSON.stringify(walSegments(d.dataDir).map((x) => ({ name: x.name, size: x.size })));

  // A test that failed half way may leave the daemon down; the next one
  // starts it again on the same data directory.
  async function ensureUp() {
    if (!d.alive) await d.start();
  }

  let nextIndex = 0;
  async function ack(count) {
    for (let k = 0; k < count; k++) acked.push(await send(makeBatch(nextIndex++)));
  }

  // 'complete' (both records, once, as sent), 'absent', or a description of
  // what is wrong (partial, duplicated, altered).
  async function state(batch) {
    const res = await d.getJSON(`/api/v1/traces/${batch.traceId}`);
    if (res.status === 404) return 'absent';
    if (res.status !== 200 || !Array.isArray(res.json?.logs)) return `lookup answered ${res.status}: ${res.text.slice(0, 200)}`;
    const mine = res.json.logs.filter((l) => l.attributes && l.attributes['e2e.marker'] === batch.marker);
    if (mine.length === 0) return 'absent';
    if (mine.length !== 2) return `${mine.length} records instead of 2 (seq ${mine.map((l) => l.attributes['e2e.seq'])})`;
    const out = [];
    for (const r of batch.records) {
      const got = mine.find((l) => l.attributes['e2e.seq'] === r.attributes['e2e.seq']);
      if (!got) {
        out.push(`seq ${r.attributes['e2e.seq']} missing`);
        continue;
      }
      diffExact(
        got,
        {
          trace_id: batch.traceId,
          span_id: r.spanId,
          time_unix_nano: r.time.toString(),
          observed_time_unix_nano: r.observed.toString(),
          severity_number: r.severityNumber,
          severity_text: r.severityText,
          service: 'durable-svc',
          body: otlp.anyValueApi(r.body),
          attributes: otlp.attrsApi(r.attributes),
        },
        `batch ${batch.i} seq ${r.attributes['e2e.seq']}`,
        out,
      );
    }
    return out.length ? out.join('; ') : 'complete';
  }

  async function verifyAcked(where) {
    const problems = [];
    for (const b of acked) {
      const s = await state(b);
      if (s !== 'complete') problems.push(`batch ${b.i} (${b.encoding}, trace ${b.traceId}): ${s}`);
    }
    failIf(problems, `${where}: acknowledged batches must all be there exactly once`);
  }

  async function verifySacrificed(where) {
    const problems = [];
    for (const s of sacrificed) {
      const now = await state(s.batch);
      if (now !== 'complete' && now !== 'absent') problems.push(`batch ${s.batch.i}: ${now}`);
      else if (s.state && now !== s.state) problems.push(`batch ${s.batch.i} was ${s.state} after the cut, now ${now}`);
      s.state = now;
    }
    failIf(problems, `${where}: a cut record must be all there or not there at all`);
  }

  // kill -9 with `batch` as the last acknowledged write, then apply `mutate`
  // to the newest WAL segment's last record and restart.
  async function tearLastRecord(t, what, mutate) {
    const victim = await send(makeBatch(nextIndex++));
    await d.kill9();
    const seg = newestSegment(d.dataDir);
    assert.ok(seg, `no non-empty *.wal segment under ${d.dataDir}/wal after kill -9 with unflushed acknowledged data: ${segList()}`);
    const buf = fs.readFileSync(seg.path);
    const parsed = parseSegment(buf);
    assert.ok(
      parsed,
      `no [u32 len][u32 crc32c][payload] record found in ${seg.path} (${buf.length} bytes, first bytes ${buf.subarray(0, 32).toString('hex')})`,
    );
    const last = parsed.records[parsed.records.length - 1];
    const payload = buf.subarray(last.payloadOffset, last.end);
    // When payloads are readable, make sure the record we damage is the
    // victim's alone; compressed payloads cannot be checked this way.
    const plain = payload.includes(Buffer.from(victim.marker));
    const earlier = acked.slice(-3).filter((b) => payload.includes(Buffer.from(b.marker)));
    assert.deepEqual(
      earlier.map((b) => b.i),
      [],
      `the last WAL record of ${seg.path} holds earlier acknowledged batches, not only batch ${victim.i}`,
    );
    mutate(seg.path, buf, last);
    const r = parsed.reading;
    t.diagnostic(
      `${what} the last of ${parsed.records.length} records in ${seg.name} (offset ${last.offset}, ` +
        `${last.payloadLength}-byte payload, ${r.le ? 'little' : 'big'}-endian, header ${parsed.start} bytes, ` +
        `payload ${plain ? 'holds' : 'does not show'} the marker of batch ${victim.i})`,
    );
    sacrificed.push({ batch: victim, state: null, what, plain });
    await d.start();
  }

  after(() => fx.dispose());

  it(
    `${N} acknowledged log batches survive kill -9, each exactly once`,
    T,
    W(async () => {
      await ack(N);
      await d.kill9();
      await d.start();
      await verifyAcked('after kill -9 and restart');
    }),
  );

  it(
    'garbage appended to the newest WAL segment is cut; later writes still survive a crash',
    T,
    W(async () => {
      await ensureUp();
      if (acked.length === 0) await ack(5);
      await ack(5);
      await d.kill9();
      const seg = newestSegment(d.dataDir);
      assert.ok(seg, `no non-empty *.wal segment under ${d.dataDir}/wal: ${segList()}`);
      // a header claiming a huge record, then noise
      const hdr = Buffer.alloc(8);
      hdr.writeUInt32LE(0x7ffffff0, 0);
      hdr.writeUInt32LE(0xdeadbeef, 4);
      fs.appendFileSync(seg.path, Buffer.concat([hdr, garbage(4093)]));
      await d.start();
      await verifyAcked('after garbage was appended to the WAL');
      // writes after the cut must land where the next replay finds them
      await ack(3);
      await d.kill9();
      await d.start();
      await verifyAcked('after a second kill -9 following the garbage cut');
    }),
  );

  it(
    'a last WAL record torn in the middle is cut at start-up; nothing acknowledged before it is lost',
    T,
    W(async (t) => {
      await ensureUp();
      await ack(3);
      await tearLastRecord(t, 'truncated', (p, buf, last) => {
        const cut = last.payloadOffset + Math.floor(last.payloadLength / 2);
        fs.truncateSync(p, cut);
      });
      await verifyAcked('after truncating the last WAL record');
      await verifySacrificed('after truncating the last WAL record');
      t.diagnostic(`the batch in the torn record is ${sacrificed[sacrificed.length - 1].state} after restart`);
      await ack(3);
      await d.kill9();
      await d.start();
      await verifyAcked('after kill -9 following the truncation');
      await verifySacrificed('after kill -9 following the truncation');
    }),
  );

  it(
    'a corrupted byte in the middle of the last WAL record fails its CRC and is cut; the rest is kept',
    T,
    W(async (t) => {
      await ensureUp();
      await ack(3);
      await tearLastRecord(t, 'corrupted', (p, buf, last) => {
        const at = last.payloadOffset + Math.floor(last.payloadLength / 2);
        const fd = fs.openSync(p, 'r+');
        try {
          fs.writeSync(fd, Buffer.from([buf[at] ^ 0x5a]), 0, 1, at);
        } finally {
          fs.closeSync(fd);
        }
      });
      await verifyAcked('after corrupting the last WAL record');
      await verifySacrificed('after corrupting the last WAL record');
      // a record that failed its CRC must not be replayed into the store
      const s = sacrificed[sacrificed.length - 1];
      if (s.plain) {
        assert.equal(s.state, 'absent', `batch ${s.batch.i} was only in a WAL record with a bad CRC and must not be stored, it is ${s.state}`);
      }
      await ack(3);
      await d.kill9();
      await d.start();
      await verifyAcked('after kill -9 following the corruption');
    }),
  );

  it(
    'a clean stop (exit 0), garbage after it, and a restart keep everything exactly once',
    T,
    W(async () => {
      await ensureUp();
      await ack(2);
      await d.stop();
      const seg = newestSegment(d.dataDir);
      if (seg) fs.appendFileSync(seg.path, garbage(777, 0xbadc0de));
      await d.start();
      await verifyAcked('after clean stop, garbage and restart');
      await verifySacrificed('after clean stop, garbage and restart');
      const res = await d.getJSON('/healthz');
      assert.equal(res.status, 200, `/healthz: ${res.status} ${res.text.slice(0, 200)}`);
    }),
  );
});
