/**
 * Language codes as stored in mdhd (ISO 639-2/T, 'und' when unknown) or given by a live source, and
 * the readable names players show in their track menus.
 */

/** English names of common ISO 639-2 codes; both /T and /B forms, since sources write either. */
const NAMES: Readonly<Record<string, string>> = {
  ara: 'Arabic',
  bul: 'Bulgarian',
  ben: 'Bengali',
  cat: 'Catalan',
  ces: 'Czech',
  cze: 'Czech',
  chi: 'Chinese',
  zho: 'Chinese',
  dan: 'Danish',
  deu: 'German',
  ger: 'German',
  ell: 'Greek',
  gre: 'Greek',
  eng: 'English',
  est: 'Estonian',
  eus: 'Basque',
  baq: 'Basque',
  fas: 'Persian',
  per: 'Persian',
  fin: 'Finnish',
  fil: 'Filipino',
  fra: 'French',
  fre: 'French',
  gle: 'Irish',
  glg: 'Galician',
  heb: 'Hebrew',
  hin: 'Hindi',
  hrv: 'Croatian',
  hun: 'Hungarian',
  hye: 'Armenian',
  arm: 'Armenian',
  ind: 'Indonesian',
  isl: 'Icelandic',
  ice: 'Icelandic',
  ita: 'Italian',
  jpn: 'Japanese',
  kat: 'Georgian',
  geo: 'Georgian',
  kaz: 'Kazakh',
  kor: 'Korean',
  lav: 'Latvian',
  lit: 'Lithuanian',
  mkd: 'Macedonian',
  mac: 'Macedonian',
  msa: 'Malay',
  may: 'Malay',
  nld: 'Dutch',
  dut: 'Dutch',
  nor: 'Norwegian',
  nob: 'Norwegian Bokmål',
  nno: 'Norwegian Nynorsk',
  pol: 'Polish',
  por: 'Portuguese',
  ron: 'Romanian',
  rum: 'Romanian',
  rus: 'Russian',
  slk: 'Slovak',
  slo: 'Slovak',
  slv: 'Slovenian',
  spa: 'Spanish',
  sqi: 'Albanian',
  alb: 'Albanian',
  srp: 'Serbian',
  swe: 'Swedish',
  tam: 'Tamil',
  tel: 'Telugu',
  tha: 'Thai',
  tur: 'Turkish',
  ukr: 'Ukrainian',
  urd: 'Urdu',
  vie: 'Vietnamese',
  yue: 'Cantonese',
};

/** 'und' stands for "unknown": no LANGUAGE in HLS, no lang in DASH. */
export const UNDETERMINED = 'und';

/**
 * A language tag safe to write into a quoted HLS attribute and an XML attribute: a well-formed
 * RFC 5646-like tag in lower case, or 'und' for anything else (empty, garbage from a live feed).
 */
export function normalizeLanguage(code: string): string {
  const c = code.trim().toLowerCase();
  return /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/.test(c) ? c : UNDETERMINED;
}

/** Readable name for a code, or undefined when we do not know it (the caller then shows the code). */
export function languageName(code: string): string | undefined {
  return NAMES[normalizeLanguage(code)];
}
