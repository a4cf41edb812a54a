/**
 * What the load bench serves: locations of the bench config and one variant per output. To measure
 * another output (say DASH with cenc), add a location with its `drm` directive and a variant naming
 * it; the harness, the table and bench.json pick it up.
 */

export interface BenchLocation {
  readonly name: string;
  /** Directives of the `file` block besides `path` (which is the bench media folder). */
  readonly directives: readonly string[];
}

export interface Variant {
  readonly name: string;
  readonly location: string;
  /** Segment URL below the title, `{id}` the rendition (v1, a2) and `{n}` the 1-based number. */
  readonly segment: string;
  /** Init segment fetched once while warming up (fMP4 outputs), same placeholders. */
  readonly init?: string;
  /** For an encrypted variant: the clear variant serving the same segments, to print what encryption costs. */
  readonly clear?: string;
}

export const LOCATIONS: readonly BenchLocation[] = [
  { name: 'clear', directives: ['protocols hls dash;', 'segment_duration 4;'] },
  // A static key keeps the bench free of secret files; the cipher work is the same as drm local's.
  { name: 'enc', directives: ['protocols hls dash;', 'segment_duration 4;', 'drm static key=00112233445566778899aabbccddeeff kid=10000000-1000-4000-8000-100000000000;'] },
  { name: 'enc-cbcs', directives: ['protocols hls dash;', 'segment_duration 4;', 'drm static key=00112233445566778899aabbccddeeff kid=20000000-2000-4000-8000-200000000000 dash=cbcs;'] },
];

export const VARIANTS: readonly Variant[] = [
  { name: 'hls-ts', location: 'clear', segment: 'ts/{id}/{n}.ts' },
  { name: 'hls-fmp4', location: 'clear', segment: 'hls/{id}/{n}.m4s', init: 'hls/{id}/init.mp4' },
  { name: 'dash', location: 'clear', segment: 'dash/{id}/{n}.m4s', init: 'dash/{id}/init.mp4' },
  { name: 'dash-cenc', location: 'enc', segment: 'dash/{id}/{n}.m4s', init: 'dash/{id}/init.mp4', clear: 'dash' },
  { name: 'dash-cbcs', location: 'enc-cbcs', segment: 'dash/{id}/{n}.m4s', init: 'dash/{id}/init.mp4', clear: 'dash' },
  { name: 'hls-cbcs', location: 'enc', segment: 'hls/{id}/{n}.m4s', init: 'hls/{id}/init.mp4', clear: 'hls-fmp4' },
];

export function expand(pattern: string, id: string, n?: number): string {
  return pattern.replaceAll('{id}', id).replaceAll('{n}', String(n ?? ''));
}

/** The config the bench server runs with: every location reads the bench media folder. */
export function benchConfig(mediaDir: string): string {
  const quoted = `"${mediaDir.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  const blocks = LOCATIONS.map((l) => `file ${l.name} {\n  path ${quoted};\n${l.directives.map((d) => `  ${d}\n`).join('')}}\n`);
  return `# Written by test/bench/load.ts; the server is started on 127.0.0.1 with a free port.\n${blocks.join('')}`;
}
