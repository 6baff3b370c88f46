"use strict";
/**
 * The running review server for the Node tests. Under pytest (tests/plugins/test_premiere_node.py) the
 * server is already running and described in COGVLM_MEDIA_TEST_ARCHIVE; run on its own (`npm test`),
 * this starts tests/plugins/fixture_server.py (Python from COGVLM_MEDIA_PYTHON, else the repository's
 * .venv, else python3) and stops it when the tests end.
 */
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..", "..", "..", "..");
let started = null;

async function archive() {
  if (process.env.COGVLM_MEDIA_TEST_ARCHIVE) return JSON.parse(process.env.COGVLM_MEDIA_TEST_ARCHIVE);
  if (started) return started.info;
  const venv = path.join(ROOT, ".venv", "bin", "python");
  const python = process.env.COGVLM_MEDIA_PYTHON || (fs.existsSync(venv) ? venv : "python3");
  const child = spawn(python, [path.join(ROOT, "tests", "plugins", "fixture_server.py")],
    { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  const info = await new Promise((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(() => reject(new Error("fixture server did not start within 120 s")), 120000);
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      const nl = buffer.indexOf("\n");
      if (nl >= 0) { clearTimeout(timer); resolve(JSON.parse(buffer.slice(0, nl))); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`fixture server exited with ${code}`)); });
  });
  started = { child, info };
  return info;
}

function stop() {
  if (started) { started.child.stdin.end(); started = null; }
}

module.exports = { archive, stop };
