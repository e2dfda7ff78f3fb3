// Runs one browser scenario: `node tests/browser/run.mjs <scenario>` with BASE_URL (a fresh
// SlugBase instance) and SCREENSHOT_DIR set; CHROMIUM overrides /usr/bin/chromium. Exit code 0
// when the scenario passed; otherwise the error, a failure screenshot and what the page showed.
// tests/browser.rs starts the server and calls this for each scenario (cargo test --test browser).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fs from 'node:fs';
import { Harness } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const name = process.argv[2];
const available = fs
  .readdirSync(path.join(here, 'scenarios'))
  .filter((f) => f.endsWith('.mjs'))
  .map((f) => f.slice(0, -4))
  .sort();

if (!name || !available.includes(name)) {
  console.error(`usage: node tests/browser/run.mjs <scenario>; scenarios: ${available.join(', ')}`);
  process.exit(2);
}
const base = process.env.BASE_URL;
if (!base) {
  console.error('BASE_URL is not set (the SlugBase instance to test)');
  process.exit(2);
}
const shotDir = path.resolve(process.env.SCREENSHOT_DIR || path.join(here, '..', '..', 'target', 'screenshots'));
// Under the Rust side's 120 s, so a slow scenario still leaves its failure screenshot.
const timeoutMs = Number(process.env.SCENARIO_TIMEOUT_MS || 110_000);

const { default: scenario } = await import(pathToFileURL(path.join(here, 'scenarios', `${name}.mjs`)).href);
const t = new Harness({ scenario: name, base, shotDir });
const started = Date.now();
let failed = null;
let timer;
try {
  await t.start();
  await Promise.race([
    scenario(t),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`scenario ${name} timed out after ${timeoutMs / 1000} s`)), timeoutMs);
    }),
  ]);
} catch (e) {
  failed = e;
} finally {
  clearTimeout(timer);
}
t.report();
if (failed) {
  console.log(`\nFAILED: ${name} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(failed.stack || String(failed));
  await t.failureEvidence();
} else {
  console.log(`\npassed: ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s, ${t.shots} screenshots in ${shotDir}`);
}
await t.close();
process.exit(failed ? 1 : 0);
