import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { realpath } from 'node:fs/promises';
import { watch, type FSWatcher } from 'chokidar';
import { loadConfig } from '../config/parse.js';
import { unsupportedFeatures } from '../config/validate.js';
import type { Config } from '../config/model.js';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { createApp, type AppState } from './app.js';
import { TitleCache } from './title-cache.js';
import { createLogger, type Logger } from './logger.js';
import { buildProtections, needsKek, rememberLocationKids } from './protection.js';
import { AccessPolicy, envTokenSecret } from './access.js';
import { AuthBackend } from './auth-backend.js';
import { DEFAULT_KEY_RATE_LIMIT, KeyRateLimiter } from './rate-limit.js';
import { loadKek } from '../keys/wrap.js';
import { KnownKids } from '../keys/known-kids.js';
import { loadSecret } from '../keys/secret.js';
import { dirname, join } from 'node:path';
import { Operator } from './operator.js';
import { LiveStreams } from './live-registry.js';

export interface ServerOptions {
  configPath: string;
  /** Overrides the config's `http` directive: `HOST:PORT`, `:PORT` or `PORT`. */
  listen?: string;
  log?: Logger;
  /** Watch the config file and the locations (on by default; tests of other things may turn it off). */
  watch?: boolean;
  /** How long close() lets responses in flight finish before cutting their connections (default 10 s). */
  shutdownGraceMs?: number;
}

export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  readonly state: AppState;
  /** Access log, metrics, status API, player page. */
  readonly operator: Operator;
  /** Re-reads the config; a bad one is reported and the running one kept. Resolves true when applied. */
  reload(): Promise<boolean>;
  /**
   * Graceful: stops accepting, lets responses in flight finish (cut after shutdownGraceMs), closes the
   * watchers. Resolves when every connection is gone.
   */
  close(): Promise<void>;
}

/** Refuses a config that uses what this build cannot serve yet, naming each place. */
export function assertServable(config: Config): void {
  const problems = unsupportedFeatures(config);
  if (problems.length > 0) {
    const lines = problems.map((p) => `${p.pos.file}:${p.pos.line}:${p.pos.column}: ${p.message}`);
    throw new PackagerError(ErrorCode.CONFIG_INVALID, lines.join('\n'));
  }
}

export function parseListen(listen: string): { host?: string; port: number } {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new PackagerError(ErrorCode.CONFIG_INVALID, `bad listen address: ${listen} (use HOST:PORT)`);
  const host = m[1]?.replace(/^\[(.*)\]$/, '$1');
  return host ? { host, port } : { port };
}

/** The key endpoints' rate limiter of a config; the running one (with its buckets) when the limits are the same. */
function limiterFor(config: Config, running: KeyRateLimiter | undefined): KeyRateLimiter | undefined {
  if (config.keyRateLimit === false) return undefined;
  const limit = config.keyRateLimit ?? DEFAULT_KEY_RATE_LIMIT;
  if (running && running.limit.burst === limit.burst && running.limit.perSecond === limit.perSecond) return running;
  return new KeyRateLimiter(limit);
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const config = await loadConfig(opts.configPath);
  assertServable(config);
  // An injected logger (tests) keeps its level; ours follows `log_level`.
  const log = opts.log ?? createLogger(config.logLevel ?? 'info');
  const ownLogger = opts.log === undefined;
  // The server secret is read (or created) once, and only if a location derives keys from it.
  let secretPromise: Promise<Uint8Array> | undefined;
  const secret = (): Promise<Uint8Array> =>
    (secretPromise ??= loadSecret({
      ...(state.config.secretFile ? { secretFile: state.config.secretFile } : {}),
      env: process.env,
      defaultFile: join(dirname(state.config.file), 'secret'),
    }).catch((e: unknown) => {
      secretPromise = undefined;
      throw e;
    }));
  const kekOf = async (cfg: Config): Promise<Uint8Array | undefined> =>
    needsKek(cfg) ? loadKek({ ...(cfg.kekFile ? { kekFile: cfg.kekFile } : {}), env: process.env }) : undefined;
  const state: AppState = {
    config,
    protections: new Map(),
    policy: new AccessPolicy(config, envTokenSecret()),
    limiter: limiterFor(config, undefined),
    authBackend: new AuthBackend({ log }),
    titles: new TitleCache(),
    knownKids: new KnownKids(),
    log,
    live: new LiveStreams(log),
  };
  state.protections = buildProtections(config, secret, log, await kekOf(config));
  if ([...config.files, ...config.streams].some((f) => f.drm?.kind === 'local')) await secret();
  // Learn the KIDs of every protected location in the background: a large library must not delay start.
  // A stream's resource_id is known at once (rotated KeyIDs are learnt as they are served).
  const rememberStreamKids = (cfg: Config): void => {
    for (const s of cfg.streams) {
      const kid = state.protections.get(s.name)?.fixedKid;
      if (kid) state.knownKids.add(kid, s.name);
    }
  };
  const scanKids = (cfg: Config): void => {
    for (const loc of cfg.files) {
      const p = state.protections.get(loc.name);
      if (p) void rememberLocationKids(p, loc.path, state.knownKids, log).catch((e: unknown) => log.warn('sidecar scan failed', { location: loc.name, error: String(e) }));
    }
  };
  scanKids(config);
  rememberStreamKids(config);
  await state.live.apply(config);
  const operator = new Operator(state);
  operator.instrument(state.protections);
  const app = createApp(state, operator);
  const server = createServer(app.callback());
  // A request on a keep-alive socket must not hold shutdown for the default 5 s.
  server.keepAliveTimeout = 5_000;

  const listen = opts.listen ? parseListen(opts.listen) : undefined;
  const envPort = process.env['PORT'] ? Number(process.env['PORT']) : undefined;
  const port = listen?.port ?? envPort ?? config.http.port;
  const host = listen?.host ?? config.http.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address === '::' ? '::1' : addr.address}]` : addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address;
  const url = `http://${shownHost}:${addr.port}`;

  const watchers: FSWatcher[] = [];
  let locationWatcher: FSWatcher | undefined;

  const watchLocations = async (cfg: Config): Promise<void> => {
    await locationWatcher?.close();
    const roots: string[] = [];
    for (const f of cfg.files) {
      try {
        roots.push(await realpath(f.path));
      } catch {
        log.warn('location folder does not exist', { location: f.name, path: f.path });
      }
    }
    if (roots.length === 0) return;
    // The index cache is keyed by size+mtime already; the watcher frees memory at once and covers
    // replacements that keep size and mtime (e.g. restored from a backup with preserved times).
    locationWatcher = watch(roots, { ignoreInitial: true, awaitWriteFinish: false });
    const evict = (p: string): void => state.titles.evict(p);
    locationWatcher.on('change', evict).on('unlink', evict).on('add', evict);
    locationWatcher.on('error', (e) => log.warn('watcher error', { error: String(e) }));
  };

  const reload = async (): Promise<boolean> => {
    try {
      const next = await loadConfig(opts.configPath);
      assertServable(next);
      if (next.http.port !== state.config.http.port || next.http.host !== state.config.http.host) {
        log.warn('the listen address changed in the config; restart to apply it');
      }
      const policy = new AccessPolicy(next, envTokenSecret());
      const protections = buildProtections(next, secret, log, await kekOf(next));
      for (const old of state.protections.keys()) if (!protections.has(old)) state.knownKids.removeLocation(old);
      state.config = next;
      state.protections = protections;
      state.policy = policy;
      state.limiter = limiterFor(next, state.limiter);
      operator.instrument(protections);
      if (ownLogger) log.setLevel?.(next.logLevel ?? 'info');
      scanKids(next);
      rememberStreamKids(next);
      await state.live.apply(next);
      if (opts.watch !== false) await watchLocations(next);
      log.info('config reloaded', { file: opts.configPath });
      operator.reloaded(true);
      return true;
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      log.error('config reload rejected; keeping the running config', { error });
      operator.reloaded(false, error);
      return false;
    }
  };

  if (opts.watch !== false) {
    await watchLocations(config);
    const cw = watch(opts.configPath, { ignoreInitial: true });
    cw.on('change', () => void reload()).on('add', () => void reload());
    watchers.push(cw);
  }

  log.info('listening', { url, pid: process.pid, config: opts.configPath, locations: config.files.length, logLevel: config.logLevel ?? 'info' });
  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    state,
    operator,
    reload,
    close() {
      closing ??= (async () => {
        operator.closing = true;
        const grace = opts.shutdownGraceMs ?? 10_000;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          // Keep-alive connections become idle as their last response ends: close them then.
          const idle = setInterval(() => server.closeIdleConnections(), 50);
          const cut = setTimeout(() => {
            log.warn('shutdown: cutting connections still busy after the grace period', { graceMs: grace });
            server.closeAllConnections();
          }, grace);
          server.once('close', () => {
            clearInterval(idle);
            clearTimeout(cut);
          });
        });
        await Promise.all([...watchers.map((w) => w.close()), locationWatcher?.close(), state.live.stopAll()]);
        operator.stop();
        log.info('stopped', { pid: process.pid });
      })();
      return closing;
    },
  };
}
