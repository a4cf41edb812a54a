/**
 * The built-in player page (/player): browse the locations and their files, pick clear or protected and
 * DASH / HLS fMP4 / HLS TS, and play with Shaka Player (DASH, fMP4) or hls.js (TS), both served by this
 * server. Keys are obtained the way a real app would: the ClearKey licence URL in the MPD, the key URI in
 * the HLS playlist, each carrying the token the page gets from /player/token (`dev_tokens on`) or that
 * the operator pastes. Plain JS in one string: no build step.
 *
 * `window.P.state()` is what the browser test reads.
 */
export const PLAYER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>packager — player</title>
<style>
  :root { --bg:#0f1115; --panel:#171a21; --line:#262b36; --fg:#e6e8ee; --dim:#8b93a7; --acc:#4f8cff; --ok:#3fb950; --bad:#f85149; --warn:#d29922; }
  * { box-sizing: border-box; }
  body { margin:0; font:13px/1.4 system-ui, -apple-system, Segoe UI, Roboto, sans-serif; background:var(--bg); color:var(--fg); }
  header { display:flex; align-items:center; gap:12px; padding:8px 14px; border-bottom:1px solid var(--line); background:var(--panel); }
  header h1 { font-size:15px; margin:0; font-weight:600; }
  header .meta { color:var(--dim); font-size:12px; }
  header input { margin-left:auto; width:220px; }
  main { display:grid; grid-template-columns: 270px 1fr 330px; height: calc(100vh - 41px); }
  aside, section { overflow:auto; }
  aside { border-right:1px solid var(--line); padding:8px; }
  #side { border-left:1px solid var(--line); border-right:0; }
  h2 { font-size:11px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:10px 4px 6px; }
  .item { display:flex; align-items:center; gap:6px; padding:4px 6px; border-radius:5px; cursor:pointer; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
  .item:hover { background:#1f2430; }
  .item.sel { background:#22304d; }
  .badge { font-size:10px; padding:1px 5px; border-radius:8px; background:#2a3140; color:var(--dim); }
  .badge.drm { background:#3a2a12; color:#f0b35a; }
  .badge.tok { background:#2c1f3a; color:#c39cf5; }
  .empty { color:var(--dim); padding:4px 6px; font-style:italic; }
  #center { padding:10px; display:flex; flex-direction:column; gap:8px; }
  .bar { display:flex; flex-wrap:wrap; gap:6px; align-items:center; }
  .seg { display:inline-flex; border:1px solid var(--line); border-radius:6px; overflow:hidden; }
  .seg button { border:0; border-right:1px solid var(--line); background:transparent; color:var(--fg); padding:5px 10px; cursor:pointer; font:inherit; }
  .seg button:last-child { border-right:0; }
  .seg button.on { background:var(--acc); color:#fff; }
  .seg button:disabled { color:#555; cursor:not-allowed; }
  button.go { background:var(--acc); border:0; color:#fff; border-radius:6px; padding:5px 14px; cursor:pointer; font:inherit; font-weight:600; }
  input { background:#0b0d11; color:var(--fg); border:1px solid var(--line); border-radius:5px; padding:4px 7px; font:inherit; }
  video { width:100%; max-height:56vh; background:#000; border-radius:6px; }
  #url { font-family:ui-monospace, monospace; font-size:12px; color:var(--dim); word-break:break-all; }
  table { width:100%; border-collapse:collapse; }
  td { padding:3px 4px; border-bottom:1px solid var(--line); vertical-align:top; }
  td:first-child { color:var(--dim); width:42%; }
  pre { background:#0b0d11; border:1px solid var(--line); border-radius:6px; padding:8px; font-size:11px; max-height:34vh; overflow:auto; white-space:pre-wrap; word-break:break-all; margin:0; }
  #errors div { color:var(--bad); font-size:12px; margin:2px 0; }
  .ok { color:var(--ok); } .bad { color:var(--bad); }
</style>
<script src="/player/shaka-player.compiled.js"></script>
<script src="/player/hls.min.js"></script>
</head>
<body>
<header>
  <h1>packager</h1><span class="meta" id="meta">…</span>
  <input id="admin" placeholder="admin token (if configured)" type="password" autocomplete="off">
</header>
<main>
  <aside>
    <h2>Locations</h2><div id="locations"><div class="empty">loading…</div></div>
    <h2>Files <span id="crumb" class="meta"></span></h2><div id="files"><div class="empty">pick a location</div></div>
    <h2>Live streams</h2><div id="streams"><div class="empty">…</div></div>
  </aside>
  <section id="center">
    <div class="bar">
      <span class="seg" id="prot"></span>
      <span class="seg" id="fmt">
        <button data-fmt="dash">DASH</button><button data-fmt="fmp4">HLS fMP4</button><button data-fmt="ts">HLS TS</button>
      </span>
      <input id="token" placeholder="access token (auto with dev_tokens)" size="28">
      <button class="go" id="play">Play</button>
    </div>
    <div id="url">pick a file</div>
    <video id="video" controls muted playsinline></video>
    <div id="errors"></div>
  </section>
  <aside id="side">
    <h2>Playback</h2>
    <table id="stats"></table>
    <h2>Manifest</h2>
    <pre id="manifest">—</pre>
  </aside>
</main>
<script>
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const video = $('video');
  const P = { errors: [], status: null, sel: null, fmt: 'dash', player: null, hls: null, url: '', engine: '', keyRequests: 0, licenseRequests: 0 };
  window.P = P;
  $('admin').value = localStorage.getItem('packager.admin') || '';
  $('admin').addEventListener('change', () => { localStorage.setItem('packager.admin', $('admin').value); boot(); });

  function headers() { const t = $('admin').value.trim(); return t ? { Authorization: 'Bearer ' + t } : {}; }
  async function api(path) {
    const r = await fetch(path, { headers: headers() });
    if (r.status === 401 || r.status === 403) throw new Error(path + ': ' + r.status + ' (the API needs the admin token, or a loopback client)');
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
    return r.json();
  }
  function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function error(msg) { P.errors.push(String(msg)); const d = el('div', '', String(msg)); $('errors').appendChild(d); }
  function clearErrors() { P.errors = []; $('errors').textContent = ''; }

  async function boot() {
    try {
      const s = await api('/api/status');
      P.status = s;
      $('meta').textContent = 'v' + s.version + ' · pid ' + s.pid + ' · up ' + Math.round(s.uptimeSeconds) + ' s · ' + s.config.file;
      const L = $('locations'); L.textContent = '';
      if (s.locations.length === 0) L.appendChild(el('div', 'empty', 'no file locations'));
      for (const loc of s.locations) {
        const it = el('div', 'item'); it.dataset.location = loc.name;
        it.appendChild(el('span', '', '/' + loc.name + '/'));
        if (loc.drm) it.appendChild(el('span', 'badge drm', loc.drm.kind));
        if (loc.guarded) it.appendChild(el('span', 'badge tok', 'token'));
        it.onclick = () => browse(loc.name, '');
        L.appendChild(it);
      }
      const S = $('streams'); S.textContent = '';
      if (s.streams.length === 0) S.appendChild(el('div', 'empty', 'no live streams'));
      for (const st of s.streams) {
        const it = el('div', 'item'); it.dataset.stream = st.name;
        it.appendChild(el('span', '', '/' + st.name + '/ — ' + st.state));
        if (st.drm) it.appendChild(el('span', 'badge drm', st.drm.kind));
        if (st.guarded) it.appendChild(el('span', 'badge tok', 'token'));
        it.onclick = () => selectStream(st.name);
        S.appendChild(it);
      }
    } catch (e) { error(e.message); }
  }

  async function browse(location, dir) {
    for (const n of document.querySelectorAll('#locations .item')) n.classList.toggle('sel', n.dataset.location === location);
    const F = $('files'); F.textContent = '';
    $('crumb').textContent = '/' + location + '/' + (dir ? dir + '/' : '');
    try {
      const r = await api('/api/locations/' + encodeURIComponent(location) + '/files?dir=' + encodeURIComponent(dir));
      if (dir) { const up = el('div', 'item', '◂ ..'); up.onclick = () => browse(location, dir.split('/').slice(0, -1).join('/')); F.appendChild(up); }
      for (const f of r.folders) { const it = el('div', 'item', '▸ ' + f + '/'); it.dataset.folder = f; it.onclick = () => browse(location, dir ? dir + '/' + f : f); F.appendChild(it); }
      for (const f of r.files) {
        const it = el('div', 'item', '♪ ' + f.name); it.dataset.file = f.path; it.title = (f.size / 1e6).toFixed(1) + ' MB';
        it.onclick = () => { for (const n of F.querySelectorAll('.item')) n.classList.remove('sel'); it.classList.add('sel'); select(location, f.path); };
        F.appendChild(it);
      }
      if (!r.folders.length && !r.files.length) F.appendChild(el('div', 'empty', 'no .mp4 here'));
    } catch (e) { error(e.message); }
  }

  /** The same file is offered clear or protected through every location serving the same folder. */
  function select(location, path) {
    const loc = P.status.locations.find((l) => l.name === location);
    const twins = P.status.locations.filter((l) => l.path === loc.path);
    P.sel = { location, path, twins };
    const prot = $('prot'); prot.textContent = '';
    for (const t of twins) {
      const b = el('button', t.name === location ? 'on' : '', (t.drm ? 'protected' : 'clear') + ' (/' + t.name + '/)');
      b.dataset.location = t.name; b.dataset.mode = t.drm ? 'protected' : 'clear';
      b.onclick = () => { P.sel.location = t.name; for (const x of prot.children) x.classList.toggle('on', x === b); refreshFormats(); };
      prot.appendChild(b);
    }
    refreshFormats();
  }
  P.select = select;

  function selectStream(name) {
    for (const n of document.querySelectorAll('#streams .item')) n.classList.toggle('sel', n.dataset.stream === name);
    const st = P.status.streams.find((x) => x.name === name);
    P.sel = { location: name, path: '', live: true, twins: [st] };
    const prot = $('prot'); prot.textContent = '';
    prot.appendChild(el('button', 'on', (st.drm ? 'protected' : 'clear') + ' live (/' + name + '/)'));
    refreshFormats();
  }
  P.selectStream = selectStream;

  function current() { return P.sel.live ? P.sel.twins[0] : P.status.locations.find((l) => l.name === P.sel.location); }
  function refreshFormats() {
    const loc = current();
    for (const b of $('fmt').children) {
      const need = b.dataset.fmt === 'dash' ? 'dash' : 'hls';
      b.disabled = !loc.protocols.includes(need);
      b.classList.toggle('on', b.dataset.fmt === P.fmt);
    }
    $('url').textContent = manifestPath();
  }
  for (const b of $('fmt').children) b.onclick = () => { P.fmt = b.dataset.fmt; refreshFormats(); };

  function manifestPath() {
    if (!P.sel) return '';
    const name = P.fmt === 'dash' ? 'index.mpd' : P.fmt === 'fmp4' ? 'index.fmp4.m3u8' : 'index.m3u8';
    if (P.sel.live) return '/' + P.sel.location + '/' + name;
    const file = P.sel.path.split('/').map(encodeURIComponent).join('/');
    return '/' + P.sel.location + '/' + file + '/' + name;
  }

  async function tokenFor(loc) {
    if (!loc.tokens) return '';
    if ($('token').value.trim()) return $('token').value.trim();
    const content = P.sel.live ? loc.name : loc.name + '/' + P.sel.path;
    const r = await fetch('/player/token?content=' + encodeURIComponent(content), { headers: headers() });
    if (r.status === 404) throw new Error('/' + loc.name + '/ needs a token: paste one (packager token …) or enable dev_tokens on; in the config');
    if (!r.ok) throw new Error('/player/token: HTTP ' + r.status);
    const j = await r.json();
    return j.token || '';
  }

  async function stop() {
    if (P.player) { try { await P.player.destroy(); } catch (e) {} P.player = null; }
    if (P.hls) { P.hls.destroy(); P.hls = null; }
    video.removeAttribute('src'); video.load();
  }

  async function play() {
    clearErrors();
    if (!P.sel) { error('pick a file or a live stream first'); return; }
    await stop();
    const loc = current();
    let token = '';
    try { token = await tokenFor(loc); } catch (e) { error(e.message); return; }
    const url = location.origin + manifestPath() + (token ? '?token=' + encodeURIComponent(token) : '');
    P.url = url;
    $('url').textContent = manifestPath() + (token ? '?token=…' : '');
    P.keyRequests = 0; P.licenseRequests = 0;
    fetch(url).then((r) => r.text()).then((t) => { $('manifest').textContent = t.length > 6000 ? t.slice(0, 6000) + '\\n…' : t; }, (e) => error('manifest: ' + e));
    if (P.fmt === 'ts') return playHlsjs(url);
    return playShaka(url, token);
  }
  $('play').onclick = () => void play();
  P.play = play;

  async function playShaka(url, token) {
    P.engine = 'Shaka Player ' + shaka.Player.version;
    shaka.polyfill.installAll();
    const player = new shaka.Player();
    P.player = player;
    await player.attach(video);
    player.configure({
      // The MPD names the ClearKey licence URL (with the token); this is the fallback.
      drm: { servers: { 'org.w3.clearkey': location.origin + '/license/clearkey' + (token ? '?token=' + encodeURIComponent(token) : '') } },
      streaming: { retryParameters: { maxAttempts: 2 } },
    });
    player.getNetworkingEngine().registerRequestFilter((type, req) => {
      if (type === shaka.net.NetworkingEngine.RequestType.LICENSE) P.licenseRequests++;
      if (type === shaka.net.NetworkingEngine.RequestType.KEY) P.keyRequests++;
    });
    player.addEventListener('error', (ev) => error('Shaka error ' + ev.detail.code + ' (category ' + ev.detail.category + ')'));
    try { await player.load(url); await video.play(); } catch (e) { error('Shaka: ' + (e.code ? 'error ' + e.code : e.message || e)); }
  }

  function playHlsjs(url) {
    if (!Hls.isSupported()) { error('hls.js: MediaSource not supported'); return; }
    P.engine = 'hls.js ' + Hls.version;
    const hls = new Hls({ enableWorker: true });
    P.hls = hls;
    hls.on(Hls.Events.KEY_LOADING, () => { P.keyRequests++; });
    hls.on(Hls.Events.ERROR, (_e, d) => {
      // A B-frame source starts with a small hole hls.js steps over: not an error worth showing.
      if (!d.fatal && (d.details === 'bufferSeekOverHole' || d.details === 'bufferAppendNoProgress' || d.details === 'bufferStalledError')) return;
      error('hls.js ' + (d.fatal ? 'fatal ' : '') + d.type + ': ' + d.details);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    hls.on(Hls.Events.MANIFEST_PARSED, () => { video.play().catch((e) => error('play: ' + e.message)); });
  }

  video.addEventListener('error', () => error('video error ' + (video.error ? video.error.code + ' ' + video.error.message : '')));

  function bufferAhead() {
    const b = video.buffered;
    for (let i = 0; i < b.length; i++) if (b.start(i) <= video.currentTime + 0.1 && b.end(i) >= video.currentTime) return b.end(i) - video.currentTime;
    return 0;
  }
  function bitrate() {
    if (P.player) { const s = P.player.getStats(); return s.streamBandwidth || 0; }
    if (P.hls && P.hls.levels && P.hls.currentLevel >= 0) return P.hls.levels[P.hls.currentLevel].bitrate || 0;
    return 0;
  }
  P.state = function () {
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : { totalVideoFrames: 0, droppedVideoFrames: 0 };
    return { url: P.url, engine: P.engine, frames: q.totalVideoFrames, dropped: q.droppedVideoFrames, currentTime: video.currentTime, width: video.videoWidth, height: video.videoHeight,
      bitrate: bitrate(), buffer: bufferAhead(), errors: P.errors.slice(), keyRequests: P.keyRequests, licenseRequests: P.licenseRequests, paused: video.paused };
  };
  setInterval(() => {
    const s = P.state();
    const rows = [
      ['player', s.engine || '—'],
      ['mode', P.sel ? (current().drm ? 'protected (' + current().drm.kind + ')' : 'clear') + ', ' + ({ dash: 'DASH', fmp4: 'HLS fMP4', ts: 'HLS TS' })[P.fmt] : '—'],
      ['rendition', s.width ? s.width + '×' + s.height : '—'],
      ['bitrate', s.bitrate ? (s.bitrate / 1000).toFixed(0) + ' kbit/s' : '—'],
      ['buffer ahead', s.buffer.toFixed(1) + ' s'],
      ['position', s.currentTime.toFixed(2) + ' s'],
      ['frames decoded / dropped', s.frames + ' / ' + s.dropped],
      ['licence / key requests', s.licenseRequests + ' / ' + s.keyRequests],
      ['errors', s.errors.length ? String(s.errors.length) : 'none'],
    ];
    const t = $('stats'); t.textContent = '';
    for (const [k, v] of rows) { const tr = el('tr'); tr.appendChild(el('td', '', k)); const td = el('td', k === 'errors' ? (s.errors.length ? 'bad' : 'ok') : '', v); tr.appendChild(td); t.appendChild(tr); }
  }, 500);

  boot();
})();
</script>
</body>
</html>
`;
