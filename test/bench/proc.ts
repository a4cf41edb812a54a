/** Child processes for the bench: bounded in time, killed by their own pid, output captured. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
}

export interface RunOptions {
  readonly timeoutMs: number;
  /** Resolve with a non-zero exit instead of rejecting (for probes). */
  readonly allowFailure?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs a command to completion; a run past its timeout is killed, so the bench always ends. */
export function run(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr, wallMs: performance.now() - t0 };
      if (timedOut) reject(new Error(`${cmd} timed out after ${opts.timeoutMs} ms`));
      else if (code !== 0 && !opts.allowFailure) reject(new Error(`${cmd} exited with ${code}: ${stderr.trim().slice(-2000)}`));
      else resolve(result);
    });
  });
}

/**
 * Node arguments that run a TypeScript file in a fresh process through tsx's loader, without the tsx
 * CLI's extra relay process in between.
 */
export function tsxArgs(script: string, args: readonly string[] = []): string[] {
  return ['--import', import.meta.resolve('tsx'), script, ...args];
}
