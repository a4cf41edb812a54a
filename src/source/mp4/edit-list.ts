/**
 * Edit list (elst) -> presentationOffset, in media timescale, such that
 *     presented = dts + cto - presentationOffset.
 * That is the media_time of the first non-empty edit (B-frame shift, AAC priming) minus the length of
 * the leading empty edits (a track that starts late), converted from the movie timescale.
 *
 * Later edits (cuts, repeats, dwells) are ignored: a packager serves the media as one continuous
 * timeline, and FFmpeg-written sources only ever have the one shift.
 */
import { type Box, fullBoxVersion, i64, invalid, need, u64 } from './box-reader.js';

export function presentationOffset(
  view: DataView,
  elst: Box | undefined,
  mediaTimescale: number,
  movieTimescale: number,
): number {
  if (!elst) return 0;
  const version = fullBoxVersion(view, elst);
  need(elst, 8, 'entry_count');
  const count = view.getUint32(elst.bodyStart + 4);
  const entrySize = version === 1 ? 20 : 12;
  need(elst, 8 + count * entrySize, `${count} entries`);
  let empty = 0;
  let p = elst.bodyStart + 8;
  for (let e = 0; e < count; e++, p += entrySize) {
    const segmentDuration = version === 1 ? u64(view, p, elst.path) : view.getUint32(p);
    const mediaTime = version === 1 ? i64(view, p + 8, elst.path) : view.getInt32(p + 4);
    if (mediaTime === -1) {
      empty += segmentDuration;
      continue;
    }
    if (mediaTime < 0) throw invalid(`${elst.path}: media_time ${mediaTime} is negative`);
    if (empty === 0) return mediaTime;
    if (movieTimescale <= 0) throw invalid(`${elst.path}: an empty edit needs a movie timescale`);
    return mediaTime - Math.round((empty * mediaTimescale) / movieTimescale);
  }
  // Only empty edits: nothing is ever shown; keep the media timeline as it is.
  return 0;
}
