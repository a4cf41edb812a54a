import { readdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/parse.js';
import type { Config, FileLocation } from '../config/model.js';
import { isOpen } from '../http/access.js';
import { isPackagerError } from '../media/errors.js';
import { startServer, assertServable } from '../http/server.js';
import { indexMp4 } from '../source/mp4/index-file.js';
import { describeMedia } from '../source/mp4/describe.js';
import { planSegments } from '../segment/plan.js';
import { keyidCommand } from './keyid.js';
import { tokenCommand } from './token.js';
import { wrapKeyCommand } from './wrap-key.js';
import cluster from 'node:cluster';
import { parseWorkers, runPrimary } from './cluster.js';

const USAGE = `usage: packager <command> [options]

commands:
  serve [--config FILE] [--listen HOST:PORT] [--workers N|auto]
                                               start the server (PORT in the environment overrides the config's port);
                                               --workers: one process per core (node:cluster), same config and port
  check FILE                                   validate a config file; prints file:line:column: message on error
  inspect MEDIA.mp4 [--segment-duration S] [--json]
                                               tracks, codecs, durations and the segment plan of an MP4
  keyid MEDIA.mp4 [--uuid U] [--force]         write MEDIA.mp4.keyos_id (the KeyID of a protected file)
  token --config FILE --content ID [--ttl 1h] [--location NAME]
                                               mint an access token (printed alone on the last line)
  wrap-key HEX32|- [--kek-file FILE] [--config FILE]
                                               wrap a static key for 'drm static key=v1:…'
  help                                         this text
`;

const DEFAULT_CONFIG = 'config/packager.conf';

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'check':
        return await check(rest);
      case 'inspect':
        return await inspect(rest);
      case 'keyid':
        return await keyidCommand(rest, process.stdout, process.stderr);
      case 'token':
        return await tokenCommand(rest, process.stdout, process.stderr);
      case 'wrap-key':
        return await wrapKeyCommand(rest, process.stdout, process.stderr);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`packager: unknown command '${command}'\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    process.stderr.write(`packager: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, listen: { type: 'string' }, workers: { type: 'string' } } });
  const configPath = resolve(values.config ?? DEFAULT_CONFIG);
  if (values.workers !== undefined && cluster.isPrimary) {
    const count = parseWorkers(values.workers);
    if (count === undefined) {
      process.stderr.write(`packager: --workers takes a number 1..256 or auto, not '${values.workers}'\n`);
      return 2;
    }
    // Fail here, once, on a config that cannot be served, rather than in a loop of dying workers.
    const config = await loadConfig(configPath);
    assertServable(config);
    if (count > 1 && config.streams.length > 0) {
      // Workers share one UDP socket through cluster and the kernel hands each datagram to one of them:
      // every worker would see a fraction of the stream.
      process.stderr.write(`packager: live streams are ingested by one process; run without --workers (or --workers 1) when the config has 'stream' blocks\n`);
      return 2;
    }
    return runPrimary(count, process.stdout);
  }
  const running = await startServer({ configPath, ...(values.listen ? { listen: values.listen } : {}) });
  if (cluster.isWorker) {
    process.send?.({ type: 'listening', url: running.url });
  } else {
    process.stdout.write(`packager listening on ${running.url} (config ${configPath})\n`);
    process.stdout.write(`player page: ${running.url}/player\n`);
    for (const line of await exampleUrls(running.state.config, running.url, (loc) => !isOpen(running.state.policy.guardOf(loc)))) process.stdout.write(`${line}\n`);
  }
  // Graceful: stop accepting, finish the responses in flight (10 s at most), close the watchers, exit 0.
  const stop = (signal: string): void => {
    if (!cluster.isWorker) process.stdout.write(`${signal}: shutting down\n`);
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return new Promise<number>(() => undefined);
}

async function check(args: string[]): Promise<number> {
  const file = args[0];
  if (!file || args.length > 1) {
    process.stderr.write('usage: packager check FILE\n');
    return 2;
  }
  try {
    const config = await loadConfig(resolve(file));
    assertServable(config);
    process.stdout.write(`${file}: ok (${config.files.length} file location(s), ${config.streams.length} stream(s))\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

async function inspect(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'segment-duration': { type: 'string' }, json: { type: 'boolean' } },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) {
    process.stderr.write('usage: packager inspect MEDIA.mp4 [--segment-duration S] [--json]\n');
    return 2;
  }
  const segmentDuration = Number(values['segment-duration'] ?? 4);
  if (!(segmentDuration > 0)) {
    process.stderr.write('packager: --segment-duration must be a positive number of seconds\n');
    return 2;
  }
  try {
    const started = performance.now();
    const media = await indexMp4(resolve(file));
    const indexMs = performance.now() - started;
    const plan = planSegments(media, segmentDuration);
    const segments = plan.cuts.map((c) => ({
      track: c.track.id,
      count: c.count,
      durations: Array.from({ length: c.count }, (_, i) => round3((c.start[i + 1]! - c.start[i]!) / c.track.timescale)),
    }));
    const summary = { file, indexMs: round3(indexMs), ...describeMedia(media), segmentDuration, segments };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    } else {
      process.stdout.write(formatInspect(summary));
    }
    return 0;
  } catch (e) {
    process.stderr.write(`packager: ${file}: ${isPackagerError(e) || e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function formatInspect(summary: Record<string, unknown>): string {
  const lines: string[] = [];
  const { segments, ...rest } = summary as { segments: Array<{ track: number; count: number; durations: number[] }> };
  lines.push(JSON.stringify(rest, null, 2));
  lines.push('segment plan:');
  for (const s of segments) lines.push(`  track ${s.track}: ${s.count} segments [${s.durations.join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

/** A few URLs per location to try right after start (guarded ones need a token: say how to get one). */
async function exampleUrls(config: Config, base: string, guarded: (loc: FileLocation) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const loc of config.files) {
    const files = await findMp4(loc.path, 3);
    for (const f of files) {
      const rel = relative(loc.path, f).split(sep).map(encodeURIComponent).join('/');
      const prefix = `${base}/${loc.name}/${rel}`;
      if (guarded(loc)) {
        out.push(`  ${prefix}/index.m3u8?token=…   (packager token --config ${config.file} --content ${loc.name}/${relative(loc.path, f).split(sep).join('/')})`);
        continue;
      }
      if (loc.protocols.includes('hls')) out.push(`  ${prefix}/index.m3u8`, `  ${prefix}/index.fmp4.m3u8`);
      if (loc.protocols.includes('dash')) out.push(`  ${prefix}/index.mpd`);
    }
  }
  return out.length ? ['try:', ...out] : [];
}

async function findMp4(dir: string, limit: number): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (found.length >= limit) return;
      if (e.isFile() && /\.mp4$/i.test(e.name)) found.push(join(d, e.name));
    }
    for (const e of entries) if (e.isDirectory() && found.length < limit) await walk(join(d, e.name));
  };
  await walk(dir);
  return found;
}
