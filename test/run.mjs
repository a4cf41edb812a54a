#!/usr/bin/env node
// The one test command (`npm test`, also what .ci/run calls).
// 1. Makes sure the independent oracles the tests use are installed (ffmpeg/ffprobe, Chromium): installs
//    them from Debian's packages when running as root, otherwise stops with the exact line to run.
//    Tests that need them are never skipped silently.
// 2. Type-checks (tsc --noEmit), counted as one test.
// 3. Runs vitest and prints the closing line `N passed, N failed` that CI reads; exits non-zero when a
//    test failed or none ran.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

/** Debian package that provides each command the tests call. */
const REQUIRED = [
  { command: 'ffmpeg', pkg: 'ffmpeg' },
  { command: 'ffprobe', pkg: 'ffmpeg' },
  { command: 'chromium', pkg: 'chromium' },
  { command: 'openssl', pkg: 'openssl' },
];

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function ensureTools() {
  const missing = REQUIRED.filter((r) => !has(r.command));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  const line = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !has('apt-get')) {
    console.error(`The tests need ${missing.map((m) => m.command).join(', ')}. Install them with:\n  sudo ${line}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  console.log(`Installing test tools: ${pkgs.join(' ')}`);
  const r = spawnSync('sh', ['-c', line], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const still = REQUIRED.filter((m) => !has(m.command));
  if (r.status !== 0 || still.length > 0) {
    console.error(`Could not install ${still.map((m) => m.pkg).join(' ')}; run:\n  ${line}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

ensureTools();

let passed = 0;
let failed = 0;
let skipped = 0;

const tsc = spawnSync('npx', ['tsc', '--noEmit', '-p', '.'], { stdio: 'inherit' });
if (tsc.status === 0) {
  passed++;
  console.log('typecheck: ok');
} else {
  failed++;
  console.log('typecheck: FAILED');
}

const outDir = join(root, 'test-results');
const outFile = join(outDir, 'vitest.json');
mkdirSync(outDir, { recursive: true });
rmSync(outFile, { force: true });
const extra = process.argv.slice(2);
const vitest = spawnSync(
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${outFile}`, ...extra],
  { stdio: 'inherit' },
);

if (existsSync(outFile)) {
  const report = JSON.parse(readFileSync(outFile, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A test file that fails to load counts no tests: count it as a failure so it cannot pass unnoticed.
  for (const file of report.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) failed++;
  }
} else {
  failed++;
}
if (vitest.status !== 0 && failed === 0) failed++;

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed <= 1 ? 1 : 0);
