"use strict";
/**
 * The panel's host glue against the running review server (see helpers/server.js) and a fake of the
 * premierepro module (helpers/fake_ppro.js, which follows Adobe's Premiere DOM API Reference).
 */
const test = require("node:test");
const assert = require("node:assert/strict");
const fake = require("./helpers/fake_ppro.js");
const server = require("./helpers/server.js");
const host = require("../src/host.js");
const { Client, PanelError } = require("../src/api.js");

const TPS = 254016000000n;
const RATES = { "23.976": [24000n, 1001n], 25: [25n, 1n], "29.97df": [30000n, 1001n], "59.94": [60000n, 1001n] };
// the archive's markers (tests/plugins/pluginkit.py): name → [start, duration] in tenths of a second
const MARKS = { Opening: [0, 80], 'Café "Ünïcode" & <b>': [80, 120], Flash: [20, 0], "Door opens": [80, 0],
  "Speaker: hello": [125, 15], Logo: [170, 0] };

/** round(t × rate), halves to even (as the archive snaps), for t in tenths of a second. */
function frameAt(tenths, [num, den]) {
  const n = BigInt(tenths) * num;
  const d = 10n * den;
  const q = n / d;
  const r = n % d;
  return 2n * r > d || (2n * r === d && q % 2n === 1n) ? q + 1n : q;
}

let info;
test.before(async () => { info = await server.archive(); });
test.after(() => server.stop());

function build(key, { withGuid = true, secondUse = true, sameRange = false } = {}) {
  const rate = RATES[key];
  const tpf = (TPS * rate[1]) / rate[0];
  const asset = info.assets[key];
  const clip = new fake.ClipProjectItem(`clip ${key}.mp4`, asset.path, withGuid);
  const seq = new fake.Sequence(`seq ${key}`, tpf, withGuid);
  const uses = [{ track: 0, start: 300n * tpf, inPoint: frameAt(10, rate) * tpf, length: frameAt(100, rate) * tpf }];
  if (secondUse) uses.push({ track: 1, start: 300n * tpf + uses[0].length + 40n * tpf, inPoint: frameAt(120, rate) * tpf, length: frameAt(60, rate) * tpf });
  if (sameRange) Object.assign(uses[1], { inPoint: uses[0].inPoint, length: uses[0].length });
  seq.tracks = [new fake.VideoTrack([]), new fake.VideoTrack([])];
  for (const u of uses) seq.tracks[u.track].items.push(new fake.VideoClipTrackItem(clip, u.start, u.start + u.length, u.inPoint));
  const project = new fake.Project(new fake.FolderItem("root", [new fake.FolderItem("bin", [clip])]), seq);
  return { ppro: fake.makePpro(project), project, seq, clip, uses, rate, tpf, asset };
}

function expectedOnSequence(b) {
  const out = {};
  for (const [name, [t, d]] of Object.entries(MARKS)) {
    for (const u of b.uses) {
      const media = frameAt(t, b.rate) * b.tpf;
      const offset = media - u.inPoint;
      if (offset < 0n || offset >= u.length) continue;
      const end = d ? frameAt(t + d, b.rate) * b.tpf - u.inPoint : 0n;
      out[name] = [u.start + offset, d ? (end < u.length ? end : u.length) - offset : 0n];
    }
  }
  return out;
}

const seen = (markers) => Object.fromEntries(markers.items.map((m) => [m._name, [m._start._t, m._duration._t]]));

for (const key of Object.keys(RATES)) {
  test(`sequence markers at ${key}: a trimmed clip mid-sequence and the same clip again; a re-run adds nothing`, async () => {
    const b = build(key);
    const client = new Client(info.url);
    const report = await host.addToSequence(b.ppro, client);
    const want = expectedOnSequence(b);
    assert.deepEqual(Object.keys(want).sort(), ["Café \"Ünïcode\" & <b>", "Door opens", "Flash", "Logo", "Speaker: hello"].sort());
    assert.deepEqual(seen(b.seq._markers), want, report.text());
    assert.equal(report.counts.added, 5);
    // colour by the one table (server's index for the stored colour), comments are the notes
    const config = await client.config();
    const stored = (await client.call("GET", `/assets/${b.asset.id}/markers`)).markers;
    for (const m of b.seq._markers.items) {
      const mk = stored.find((s) => s.name === m._name);
      assert.equal(m._color, config.colours[mk.colour].premiere);
      assert.equal(m._comments, mk.note);
      assert.equal(m._type, "Comment");
    }
    const links = await client.links(`sequence:${b.seq.guid}`);
    assert.equal(links.length, 5);
    assert.deepEqual(new Set(links.map((l) => l.nle_key)), new Set(b.seq._markers.items.map((m) => m.guid.toString())));
    const transactions = b.project.transactions.length;
    const again = await host.addToSequence(b.ppro, client);
    assert.equal(b.seq._markers.items.length, 5);
    assert.equal(b.project.transactions.length, transactions, again.text());
    assert.equal(again.counts.added || 0, 0);
  });
}

test("clip markers from the media's first frame; without marker GUIDs (25.x) keys ride in the comments", async () => {
  const b = build("23.976", { withGuid: false, secondUse: false });
  const client = new Client(info.url);
  const report = await host.addToClip(b.ppro, client, b.asset.path);
  assert.equal(report.counts.added, 6);
  const flash = b.clip._markers.items.find((m) => m._name === "Flash");
  assert.equal(flash._start._t, frameAt(20, b.rate) * b.tpf);
  assert.match(flash._comments, /^a bright flash \[cmk:[0-9a-f]{16}\]$/);
  const again = await host.addToClip(b.ppro, client, b.asset.path);
  assert.equal(b.clip._markers.items.length, 6, again.text());
  assert.equal(again.counts.added || 0, 0);
});

test("send my edits back: changed and new markers become verified; a re-run sends and adds nothing", async () => {
  const b = build("25", { secondUse: false });
  const client = new Client(info.url);
  await host.addToSequence(b.ppro, client);
  const flash = b.seq._markers.items.find((m) => m._name === "Flash");
  flash._name = "Flash (checked)";
  flash._start = new fake.TickTime(flash._start._t + 10n * b.tpf);
  flash._color = 0; // green
  b.project.lockedAccess(() => b.project.executeTransaction((c) => c.addAction(b.seq._markers.createAddMarkerAction(
    "Boom in shot", "Comment", fake.TickTime.createWithTicks(String(500n * b.tpf)), fake.TickTime.TIME_ZERO, "added in Premiere"))));
  const report = await host.sendEdits(b.ppro, client);
  assert.deepEqual(report.counts, { changed: 1, added: 1 }, report.text());
  const doc = await client.call("GET", `/assets/${b.asset.id}`);
  const live = Object.fromEntries(doc.markers.map((m) => [m.name, m]));
  const edited = live["Flash (checked)"];
  assert.ok(edited.verified && edited.source === "editor");
  assert.equal(edited.colour, "GREEN");
  assert.equal(edited.frame, 50 + 10);
  assert.ok(doc.history.some((h) => h.id === edited.replaces_id && h.name === "Flash"));
  // sequence frame 500 → 200 frames into the clip (it starts at 300) + the 25-frame in point
  assert.equal(live["Boom in shot"].frame, 225);
  assert.ok(live["Boom in shot"].verified);
  const again = await host.sendEdits(b.ppro, client);
  assert.deepEqual(again.counts, {}, again.text());
  const pull = await host.addToSequence(b.ppro, client);
  assert.equal(pull.counts.added || 0, 0, pull.text());
  assert.ok(!pull.lines.some((l) => /edited in Premiere/.test(l)), pull.text());
});

test("clear messages when the server is not running or no clip matches", async () => {
  const b = build("25");
  await assert.rejects(host.addToSequence(b.ppro, new Client("http://127.0.0.1:9")), (err) => err instanceof PanelError && /not running/.test(err.message));
  const stranger = new fake.ClipProjectItem("x.mov", "/nowhere/x.mov", true);
  b.seq.tracks = [new fake.VideoTrack([new fake.VideoClipTrackItem(stranger, 0n, 100n * b.tpf, 0n)])];
  await assert.rejects(host.addToSequence(b.ppro, new Client(info.url)), /No clip in this sequence matches/);
});

test("deleted in Premiere, deleted in the archive (kept as history); kept while another use still shows it", async () => {
  // last in this file: it deletes a marker of the 59.94 asset from the suite's archive
  const b = build("59.94", { sameRange: true });
  const client = new Client(info.url);
  const live = async () => Object.fromEntries((await client.call("GET", `/assets/${b.asset.id}`)).markers.map((m) => [m.name, m]));
  const remove = (markers) => b.project.lockedAccess(() => b.project.executeTransaction((c) => {
    for (const m of markers) c.addAction(b.seq._markers.createRemoveMarkerAction(m));
  }));
  await host.addToSequence(b.ppro, client);
  const flashes = b.seq._markers.items.filter((m) => m._name === "Flash");
  assert.equal(flashes.length, 2); // one per use of the clip
  remove([flashes[0]]);
  let report = await host.sendEdits(b.ppro, client);
  assert.deepEqual(report.counts, {}, report.text()); // still on the other use: kept
  const flashId = (await live()).Flash.id;
  const pull = await host.addToSequence(b.ppro, client);
  assert.equal(pull.counts.added || 0, 0, pull.text()); // and not put back
  remove([flashes[1]]);
  report = await host.sendEdits(b.ppro, client);
  assert.deepEqual(report.counts, { deleted: 1 }, report.text());
  const doc = await client.call("GET", `/assets/${b.asset.id}`);
  assert.ok(!doc.markers.some((m) => m.name === "Flash"));
  assert.ok(doc.history.some((h) => h.id === flashId));
  assert.deepEqual((await host.sendEdits(b.ppro, client)).counts, {});

  // nothing of ours left on the sequence: nothing deleted, and the report says why
  const before = Object.keys(await live()).sort();
  remove(b.seq._markers.items.slice());
  report = await host.sendEdits(b.ppro, client);
  assert.deepEqual(report.counts, {}, report.text());
  assert.ok(report.lines.some((l) => /nothing deleted/.test(l)), report.text());
  assert.deepEqual(Object.keys(await live()).sort(), before);
});
