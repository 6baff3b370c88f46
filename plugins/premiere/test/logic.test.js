"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const logic = require("../src/logic.js");

// ticks per frame: 254016000000 × den / num — facts of Premiere's time base, computed here by hand
const TPF = { "23.976": 10594584000n, 25: 10160640000n, "29.97": 8475667200n, "59.94": 4237833600n };
const RATE = { "23.976": [24000, 1001], 25: [25, 1], "29.97": [30000, 1001], "59.94": [60000, 1001] };

test("frames ↔ ticks are exact at 23.976, 25, 29.97 and 59.94", () => {
  for (const [key, [num, den]] of Object.entries(RATE)) {
    assert.equal(logic.framesToTicks(1, num, den), TPF[key]);
    const threeHours = BigInt(Math.round((3 * 3600 * num) / den));
    assert.equal(logic.framesToTicks(threeHours, num, den), threeHours * TPF[key]);
    assert.equal(logic.ticksToFrames(threeHours * TPF[key], num, den), threeHours);
    assert.equal(logic.ticksToFrames(threeHours * TPF[key] + TPF[key] / 2n - 1n, num, den), threeHours);
    assert.deepEqual(logic.rateFromTimebase(String(TPF[key])), { num: BigInt(num), den: BigInt(den) });
  }
});

test("drop-frame labels skip 00 and 01 (00–03 at 59.94) except every tenth minute", () => {
  const r2997 = { num: 30000n, den: 1001n };
  const r5994 = { num: 60000n, den: 1001n };
  assert.equal(logic.timecode(1799, r2997, true), "00:00:59;29");
  assert.equal(logic.timecode(1800, r2997, true), "00:01:00;02");
  assert.equal(logic.timecode(17982, r2997, true), "00:10:00;00");
  assert.equal(logic.timecode(107892, r2997, true), "01:00:00;00");
  assert.equal(logic.timecode(3600, r5994, true), "00:01:00;04");
  assert.equal(logic.timecode(3599, r5994, true), "00:00:59;59");
  assert.equal(logic.timecode(215784, r5994, true), "01:00:00;00");
  assert.equal(logic.timecode(86400, { num: 24000n, den: 1001n }, false), "01:00:00:00");
});

test("a trimmed clip placed mid-sequence: markers shift by start − in point, outside ones are skipped", () => {
  const asset = { fps_num: 25, fps_den: 1 };
  const tpf = TPF[25];
  const use = { start: 1000n * tpf, end: 1250n * tpf, inPoint: 25n * tpf }; // 1 s … 11 s of media at frame 1000
  assert.deepEqual(logic.placeOnSequence({ frame: 50, frames: 0 }, use, asset, tpf), { start: 1025n * tpf, duration: 0n });
  assert.equal(logic.placeOnSequence({ frame: 24, frames: 0 }, use, asset, tpf), null);
  assert.equal(logic.placeOnSequence({ frame: 275, frames: 0 }, use, asset, tpf), null);
  // a range running past the clip's end is cut at the end
  assert.deepEqual(logic.placeOnSequence({ frame: 200, frames: 300 }, use, asset, tpf),
    { start: 1175n * tpf, duration: 75n * tpf });
  // a 59.94 asset on a 29.97 sequence snaps to the sequence's frames
  const hi = { fps_num: 60000, fps_den: 1001 };
  const spot = logic.placeOnSequence({ frame: 3, frames: 0 }, { start: 0n, end: 100n * TPF["29.97"], inPoint: 0n }, hi, TPF["29.97"]);
  assert.equal(spot.start % TPF["29.97"], 0n);
  assert.equal(spot.start, 2n * TPF["29.97"]);
});

test("comment tags round-trip and a plan adds nothing twice", () => {
  assert.deepEqual(logic.splitTag(logic.tagged("a note", "0123456789abcdef")), { note: "a note", key: "0123456789abcdef" });
  const w = { markId: 7, useKey: "V1@0", start: 10n, duration: 0n, name: "n", note: "x", colorIndex: 4 };
  const first = logic.planPull([w], [], []);
  assert.equal(first.add.length, 1);
  const existing = [{ key: "g1", start: 10n, duration: 0n, name: "n", comments: "x", colorIndex: 4 }];
  const links = [{ nle_key: "g1", use_key: "V1@0", marker_id: 7, live_marker_id: 7, asset_id: 1 }];
  const second = logic.planPull([w], existing, links);
  assert.deepEqual([second.add.length, second.update.length, second.remove.length, second.kept], [0, 0, 0, 1]);
  const edited = logic.planPull([w], [{ ...existing[0], name: "renamed" }], links);
  assert.equal(edited.add.length, 0);
  assert.match(edited.notes[0], /edited in Premiere/);
  const moved = logic.planPull([w], existing, [{ ...links[0], live_marker_id: 9 }, ]);
  assert.equal(moved.add.length, 1); // the server's marker 7 was replaced by 9: wanted is about 7 → it is new
});
