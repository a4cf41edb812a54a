/**
 * Locates the boxes of a moov that indexing needs, without interpreting sample tables: one small
 * struct per trak with the position of each box (or undefined when absent).
 */
import { type Box, childMap, children, fullBoxVersion, invalid, need } from './box-reader.js';

export interface StblBoxes {
  readonly stsd?: Box;
  readonly stts?: Box;
  readonly ctts?: Box;
  readonly stsc?: Box;
  readonly stsz?: Box;
  readonly stz2?: Box;
  readonly stco?: Box;
  readonly co64?: Box;
  readonly stss?: Box;
}

export interface TrakBoxes {
  readonly trak: Box;
  readonly tkhd?: Box;
  readonly elst?: Box;
  readonly mdhd?: Box;
  readonly hdlr?: Box;
  readonly stbl: StblBoxes;
}

export interface MoovBoxes {
  readonly movieTimescale: number;
  /** mvex present: samples live in moof fragments, which this indexer does not read. */
  readonly fragmented: boolean;
  readonly traks: TrakBoxes[];
}

export function locateMoovBoxes(view: DataView, moov: Box): MoovBoxes {
  const traks: TrakBoxes[] = [];
  let mvhd: Box | undefined;
  let fragmented = false;
  let n = 0;
  for (const child of children(view, moov)) {
    if (child.type === 'mvhd') mvhd ??= child;
    else if (child.type === 'mvex') fragmented = true;
    else if (child.type === 'trak') {
      n++;
      traks.push(locateTrak(view, { ...child, path: `moov/trak[${n}]` }));
    }
  }
  if (!mvhd) throw invalid('moov has no mvhd');
  return { movieTimescale: readMvhdTimescale(view, mvhd), fragmented, traks };
}

function readMvhdTimescale(view: DataView, mvhd: Box): number {
  const v = fullBoxVersion(view, mvhd);
  const at = v === 1 ? 20 : 12;
  need(mvhd, at + 4, 'timescale');
  const timescale = view.getUint32(mvhd.bodyStart + at);
  if (timescale === 0) throw invalid('mvhd: timescale is 0');
  return timescale;
}

function locateTrak(view: DataView, trak: Box): TrakBoxes {
  const t = childMap(view, trak);
  const edts = t.get('edts');
  const mdia = t.get('mdia');
  const m = mdia ? childMap(view, mdia) : undefined;
  const minf = m?.get('minf');
  const stblBox = minf ? childMap(view, minf).get('stbl') : undefined;
  const s = stblBox ? childMap(view, stblBox) : undefined;
  return {
    trak,
    tkhd: t.get('tkhd'),
    elst: edts ? childMap(view, edts).get('elst') : undefined,
    mdhd: m?.get('mdhd'),
    hdlr: m?.get('hdlr'),
    stbl: {
      stsd: s?.get('stsd'),
      stts: s?.get('stts'),
      ctts: s?.get('ctts'),
      stsc: s?.get('stsc'),
      stsz: s?.get('stsz'),
      stz2: s?.get('stz2'),
      stco: s?.get('stco'),
      co64: s?.get('co64'),
      stss: s?.get('stss'),
    },
  };
}
