/** The real CLI, `packager serve …`, as a child process of a test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'packager.js');

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exit: Promise<number | null>;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
}

/** `node bin/packager.js serve ARGS` from the repository root, resolved once it prints the URL it listens on. */
export function serveArgs(args: readonly string[], timeoutMs = 45_000): Promise<ServeProcess> {
  const child = spawn('node', [BIN, 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`packager serve did not start: ${out}`));
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, exit, output: () => out });
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`packager serve exited ${code}: ${out}`));
    });
  });
}

/** `packager serve --config FILE --listen 127.0.0.1:0`. */
export function serveProcess(configPath: string, timeoutMs?: number): Promise<ServeProcess> {
  return serveArgs(['--config', configPath, '--listen', '127.0.0.1:0'], timeoutMs);
}

/** SIGKILL (if still running) and wait for the exit. */
export async function killProcess(p: ServeProcess | undefined): Promise<void> {
  if (!p) return;
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await p.exit;
}
