/**
 * HLS master (multivariant) playlist: one EXT-X-STREAM-INF per video rendition (per audio group when
 * audio codecs differ), audio as EXT-X-MEDIA renditions with their own media playlists.
 */

import type { Track } from '../../media/track.js';
import { formatFixed, formatInteger } from '../format.js';
import { languageName, normalizeLanguage, UNDETERMINED } from '../language.js';
import { appendQuery, hlsMediaPlaylistPath, type HlsVariant } from '../paths.js';
import type { Presentation, Rendition } from '../types.js';
import { attributeList, BASE_VERSION, checkTagLines, versionForKeyLines } from './common.js';

export interface MasterPlaylistOptions {
  /** Appended to every URI (e.g. '?token=abc'). */
  readonly query?: string;
  /** Full #EXT-X-SESSION-KEY lines, written verbatim after the header. */
  readonly sessionKeys?: readonly string[];
}

/**
 * What a master playlist needs of a rendition. VOD Renditions are mapped to it; live renditions
 * (manifest/live-paths.ts) already have this shape.
 */
export interface VariantSource {
  /** 'v1', 'a2' …: names its media playlist. */
  readonly id: string;
  readonly track: Track;
  readonly bandwidth: number;
  readonly averageBandwidth: number;
  /** Video: frames per second. */
  readonly frameRate?: number;
}

export interface AudioGroup {
  readonly id: string;
  readonly codec: string;
  readonly renditions: readonly VariantSource[];
  /** The highest peak / average among the renditions: what a variant must budget for its audio. */
  readonly bandwidth: number;
  readonly averageBandwidth: number;
}

export function buildMasterPlaylist(p: Presentation, variant: HlsVariant, opts: MasterPlaylistOptions = {}): string {
  return writeMasterPlaylist(
    p.video.map(variantSource),
    p.audio.map(variantSource),
    (id) => hlsMediaPlaylistPath(variant, id),
    variant,
    opts,
  );
}

function variantSource(r: Rendition): VariantSource {
  return { id: r.id, track: r.cut.track, bandwidth: r.bandwidth, averageBandwidth: r.averageBandwidth, frameRate: r.frameRate };
}

/**
 * The master playlist of any title, VOD or live: `video` sorted as it should be listed (highest
 * bandwidth first), `audio` in order (the first is the default); `pathOf` gives a rendition's media
 * playlist relative to the master.
 */
export function writeMasterPlaylist(
  video: readonly VariantSource[],
  audio: readonly VariantSource[],
  pathOf: (id: string) => string,
  variant: HlsVariant,
  opts: MasterPlaylistOptions = {},
): string {
  const sessionKeys = opts.sessionKeys ?? [];
  checkTagLines(sessionKeys, '#EXT-X-SESSION-KEY');
  const version = Math.max(BASE_VERSION[variant], versionForKeyLines(sessionKeys));
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${version}`, '#EXT-X-INDEPENDENT-SEGMENTS', ...sessionKeys];
  const uri = (r: VariantSource): string => appendQuery(pathOf(r.id), opts.query);

  if (video.length === 0) {
    // Audio only: each audio rendition is a variant of its own. hls.js and ffmpeg play this; an
    // EXT-X-MEDIA group with no variant carrying the media is not something every player accepts.
    for (const a of audio) {
      lines.push(streamInf(a.bandwidth, a.averageBandwidth, [a.track.codecString]), uri(a));
    }
    return `${lines.join('\n')}\n`;
  }

  const groups = audioGroups(audio);
  let audioIndex = 0;
  for (const g of groups) {
    const names = new Set<string>();
    g.renditions.forEach((a, i) => {
      audioIndex++;
      const track = a.track;
      const lang = normalizeLanguage(track.language);
      const name = uniqueName(lang === UNDETERMINED ? `Audio ${audioIndex}` : (languageName(lang) ?? lang), names);
      lines.push(
        `#EXT-X-MEDIA:${attributeList([
          ['TYPE', { raw: 'AUDIO' }],
          ['GROUP-ID', { quoted: g.id }],
          ['LANGUAGE', lang === UNDETERMINED ? undefined : { quoted: lang }],
          ['NAME', { quoted: name }],
          ['AUTOSELECT', { raw: 'YES' }],
          // the first rendition of each group is its default (at most one per group, RFC 8216 §4.3.4.1.1)
          ['DEFAULT', { raw: i === 0 ? 'YES' : 'NO' }],
          ['CHANNELS', track.channels > 0 ? { quoted: String(track.channels) } : undefined],
          ['URI', { quoted: uri(a) }],
        ])}`,
      );
    });
  }

  // Without audio a single pseudo-group with nothing in it keeps the loop below in one shape.
  const variants: ReadonlyArray<AudioGroup | undefined> = groups.length > 0 ? groups : [undefined];
  for (const g of variants) {
    for (const v of video) {
      const track = v.track;
      const codecs = g ? [track.codecString, g.codec] : [track.codecString];
      lines.push(
        streamInf(v.bandwidth + (g?.bandwidth ?? 0), v.averageBandwidth + (g?.averageBandwidth ?? 0), codecs, [
          ['RESOLUTION', track.width > 0 && track.height > 0 ? { raw: `${track.width}x${track.height}` } : undefined],
          ['FRAME-RATE', v.frameRate === undefined ? undefined : { raw: formatFixed(v.frameRate, 3) }],
          ['AUDIO', g ? { quoted: g.id } : undefined],
        ]),
        uri(v),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Audio renditions grouped by codec string, in the order of first appearance. A variant names one
 * group, and every rendition of a group must be decodable with the CODECS the variant declares.
 */
export function audioGroups(audio: readonly VariantSource[]): AudioGroup[] {
  const byCodec = new Map<string, VariantSource[]>();
  for (const a of audio) {
    const codec = a.track.codecString;
    const list = byCodec.get(codec);
    if (list) list.push(a);
    else byCodec.set(codec, [a]);
  }
  const used = new Set<string>();
  const groups: AudioGroup[] = [];
  for (const [codec, renditions] of byCodec) {
    groups.push({
      id: uniqueName(groupIdFor(codec), used, '-'),
      codec,
      renditions,
      bandwidth: Math.max(...renditions.map((r) => r.bandwidth)),
      averageBandwidth: Math.max(...renditions.map((r) => r.averageBandwidth)),
    });
  }
  return groups;
}

const GROUP_IDS: Readonly<Record<string, string>> = {
  'mp4a.40.2': 'aac',
  'mp4a.40.5': 'aac-he',
  'mp4a.40.29': 'aac-he2',
  'mp4a.40.34': 'mp3',
  'mp4a.6b': 'mp3',
  'ac-3': 'ac3',
  'ec-3': 'ec3',
};

function groupIdFor(codec: string): string {
  return GROUP_IDS[codec.toLowerCase()] ?? (codec.toLowerCase().replace(/[^a-z0-9.-]/g, '') || 'audio');
}

/** name, or name + ' 2', ' 3' … when already taken (names within a group must differ). */
function uniqueName(name: string, taken: Set<string>, sep = ' '): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name}${sep}${n}`;
  taken.add(candidate);
  return candidate;
}

function streamInf(
  bandwidth: number,
  average: number,
  codecs: readonly string[],
  extra: ReadonlyArray<readonly [string, { quoted: string } | { raw: string } | undefined]> = [],
): string {
  return `#EXT-X-STREAM-INF:${attributeList([
    ['BANDWIDTH', { raw: formatInteger(bandwidth) }],
    ['AVERAGE-BANDWIDTH', { raw: formatInteger(average) }],
    ['CODECS', { quoted: codecs.join(',') }],
    ...extra,
  ])}`;
}
