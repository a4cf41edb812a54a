import { open } from 'node:fs/promises';
import type { Context } from 'koa';
import type { FileLocation } from '../config/model.js';
import { PackagerError, ErrorCode } from '../media/errors.js';
import { byteSize, type Track } from '../media/track.js';
import { resolveInside } from '../source/safe-path.js';
import { readSamples } from '../source/mp4/read-samples.js';
import { buildInit } from '../mux/fmp4/init.js';
import { fragmentLayout, writeFragment } from '../mux/fmp4/fragment.js';
import { buildTsSegment } from '../mux/ts/segment.js';
import { buildMasterPlaylist } from '../manifest/hls/master.js';
import { buildMediaPlaylist } from '../manifest/hls/media.js';
import { buildMpd } from '../manifest/dash/mpd.js';
import { findRendition, type Presentation, type Rendition } from '../manifest/types.js';
import type { TitleCache, Title } from './title-cache.js';
import type { VodRequest } from './vod-request.js';
import { FIRST_SEGMENT_NUMBER } from '../segment/types.js';

export const CONTENT_TYPES = {
  m3u8: 'application/vnd.apple.mpegurl',
  mpd: 'application/dash+xml',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
} as const;

/** Segments and inits never change for a given source file: let players and CDNs keep them. */
const SEGMENT_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** A VOD manifest only changes when its file is replaced: cache briefly so a replacement shows soon. */
const MANIFEST_CACHE_CONTROL = 'public, max-age=60';

/** Bumped when the bytes we write for the same source change, so ETags never lie across releases. */
const OUTPUT_VERSION = '1';

export async function serveVod(ctx: Context, location: FileLocation, req: VodRequest, titles: TitleCache): Promise<void> {
  const r = req.resource;
  const needs = r.kind === 'dashMpd' || r.kind === 'dashInit' || r.kind === 'dashSegment' ? 'dash' : 'hls';
  if (!location.protocols.includes(needs)) {
    throw new PackagerError(ErrorCode.SOURCE_NOT_FOUND, `${needs} is not enabled on this location`);
  }
  const realPath = await resolveInside(location.path, req.fileSegments);
  const title = await titles.get(realPath);
  const packaging = title.packaging(location.segmentDuration);

  // ETag: the output is a pure function of the source file identity, the request and our writer version.
  const etag = `"${OUTPUT_VERSION}-${title.index.size.toString(36)}-${Math.floor(title.index.mtimeMs).toString(36)}-${location.segmentDuration}"`;
  ctx.set('ETag', etag);
  ctx.set('Last-Modified', new Date(title.index.mtimeMs).toUTCString());
  // koa only evaluates freshness for a 2xx status, and the default is 404 until a body is set.
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }

  switch (r.kind) {
    case 'hlsMaster': {
      const p = r.variant === 'ts' ? packaging.ts : packaging.fmp4;
      return text(ctx, buildMasterPlaylist(p, r.variant), CONTENT_TYPES.m3u8);
    }
    case 'dashMpd':
      return text(ctx, buildMpd(packaging.fmp4), CONTENT_TYPES.mpd);
    case 'hlsMedia': {
      const p = r.variant === 'ts' ? packaging.ts : packaging.fmp4;
      return text(ctx, buildMediaPlaylist(p, rendition(p, r.id), r.variant), CONTENT_TYPES.m3u8);
    }
    case 'hlsInit':
    case 'dashInit': {
      const track = rendition(packaging.fmp4, r.id).cut.track;
      ctx.set('Cache-Control', SEGMENT_CACHE_CONTROL);
      ctx.type = track.kind === 'audio' ? 'audio/mp4' : CONTENT_TYPES.mp4;
      ctx.body = Buffer.from(initFor(title, r.id, track));
      return;
    }
    case 'hlsSegment':
    case 'dashSegment': {
      const ts = r.kind === 'hlsSegment' && r.variant === 'ts';
      const p = ts ? packaging.ts : packaging.fmp4;
      const rend = rendition(p, r.id);
      const index = r.number - FIRST_SEGMENT_NUMBER;
      if (index < 0 || index >= rend.cut.count) {
        throw new PackagerError(ErrorCode.SEGMENT_OUT_OF_RANGE, `segment ${r.number} is out of range (1..${rend.cut.count})`);
      }
      const body = ts ? await tsSegment(realPath, rend, index) : await fmp4Segment(realPath, rend, index, r.number);
      ctx.set('Cache-Control', SEGMENT_CACHE_CONTROL);
      ctx.type = ts ? CONTENT_TYPES.ts : CONTENT_TYPES.m4s;
      ctx.body = body;
      return;
    }
  }
}

function text(ctx: Context, body: string, type: string): void {
  ctx.set('Cache-Control', MANIFEST_CACHE_CONTROL);
  ctx.type = type;
  ctx.body = body;
}

function rendition(p: Presentation, id: string): Rendition {
  const found = findRendition(p, id);
  if (!found) throw new PackagerError(ErrorCode.TRACK_NOT_FOUND, `no rendition ${id}`);
  return found;
}

const initCache = new WeakMap<Title, Map<string, Uint8Array>>();

function initFor(title: Title, id: string, track: Track): Uint8Array {
  let byId = initCache.get(title);
  if (!byId) initCache.set(title, (byId = new Map()));
  let init = byId.get(id);
  if (!init) byId.set(id, (init = buildInit(track)));
  return init;
}

async function fmp4Segment(path: string, rend: Rendition, index: number, sequenceNumber: number): Promise<Buffer> {
  const { track, first } = rend.cut;
  const input = { track, start: first[index]!, end: first[index + 1]!, sequenceNumber };
  const layout = fragmentLayout(input);
  // One buffer per segment: the samples are read straight into the mdat payload.
  const buf = Buffer.allocUnsafe(layout.totalSize);
  await withFile(path, (fd) => readSamples(fd, track, input.start, input.end, buf, layout.mdatPayloadOffset));
  writeFragment(buf, input, layout);
  return buf;
}

async function tsSegment(path: string, rend: Rendition, index: number): Promise<Buffer> {
  const { track, first } = rend.cut;
  const start = first[index]!;
  const end = first[index + 1]!;
  const sampleData = Buffer.allocUnsafe(byteSize(track.samples, start, end));
  await withFile(path, (fd) => readSamples(fd, track, start, end, sampleData, 0));
  const out = buildTsSegment({ track, start, end, sampleData, segmentIndex: index });
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

async function withFile<T>(path: string, fn: (fd: import('node:fs/promises').FileHandle) => Promise<T>): Promise<T> {
  const fd = await open(path, 'r');
  try {
    return await fn(fd);
  } finally {
    await fd.close();
  }
}
