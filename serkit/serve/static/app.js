// serkit's page: microphone -> WebSocket /stream -> a live timeline of the emotion posteriors;
// or a dropped file -> POST /recognize -> the same timeline for the file. No build step, no CDN.
"use strict";
const COLORS = ["#ff5a6e", "#ffb347", "#5ab0ff", "#7ee081", "#c792ea", "#f78fb3", "#4dd0e1", "#e6ee9c", "#b0bec5"];
const $ = (id) => document.getElementById(id);
const state = { labels: [], estimates: [], ws: null, ctx: null, stream: null };
window.serkit = state;  // for tests and the curious

function status(text) { $("status").textContent = text; }

function legend() {
  $("legend").innerHTML = state.labels.map((l, i) => `<li style="--c:${COLORS[i % COLORS.length]}">${l}</li>`).join("");
}

function draw() {
  const c = $("timeline"), g = c.getContext("2d"), W = c.width, H = c.height, pad = 28;
  g.clearRect(0, 0, W, H);
  g.strokeStyle = "#2c3750"; g.fillStyle = "#8a94a8"; g.font = "12px system-ui"; g.lineWidth = 1;
  for (const y of [0, 0.5, 1]) {
    const py = H - pad - y * (H - 2 * pad);
    g.beginPath(); g.moveTo(pad, py); g.lineTo(W - 8, py); g.stroke(); g.fillText(y.toFixed(1), 2, py + 4);
  }
  const est = state.estimates;
  c.dataset.estimates = String(est.length);
  if (!est.length) return;
  const t1 = Math.max(est[est.length - 1].end, 1), t0 = Math.max(0, t1 - 60);
  const x = (t) => pad + (t - t0) / (t1 - t0) * (W - pad - 8);
  g.fillText(`${t0.toFixed(0)} s`, pad, H - 6); g.fillText(`${t1.toFixed(1)} s`, W - 60, H - 6);
  state.labels.forEach((label, i) => {
    g.strokeStyle = COLORS[i % COLORS.length]; g.lineWidth = 2.5; g.beginPath();
    let first = true;
    for (const e of est) {
      if (e.end < t0) continue;
      const px = x((e.start + e.end) / 2), py = H - pad - (e.posteriors[label] || 0) * (H - 2 * pad);
      if (first) { g.moveTo(px, py); first = false; } else { g.lineTo(px, py); }
    }
    g.stroke();
  });
  const last = est[est.length - 1];
  $("label").textContent = last.silent ? "(silence)" : last.label;
}

function add(e) { state.estimates.push(e); draw(); }

async function health() {
  const r = await fetch("/health"); const h = await r.json();
  state.labels = h.labels; legend(); draw();
  $("window").textContent = h.window; $("hop").textContent = h.hop;
  $("model").textContent = `${h.model_name} on ${h.features} features · ${h.labels.join(", ")}`;
}

async function record() {
  state.estimates = []; draw();
  state.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false } });
  state.ctx = new AudioContext();
  await state.ctx.audioWorklet.addModule("/static/pcm-worklet.js");
  const source = state.ctx.createMediaStreamSource(state.stream);
  const tap = new AudioWorkletNode(state.ctx, "pcm-tap");
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/stream`);
  ws.binaryType = "arraybuffer"; state.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify({ sample_rate: state.ctx.sampleRate }));
  ws.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (e.type === "estimate") add(e);
    else if (e.type === "ready") status(`listening (${e.sample_rate} Hz)`);
    else if (e.type === "error") status(`server: ${e.error}`);
    else if (e.type === "final") status(`${e.estimates} estimates, real-time factor ${e.rtf}`);
  };
  ws.onclose = () => stopAudio();
  tap.port.onmessage = (m) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const f = m.data, pcm = new Int16Array(f.length);
    for (let i = 0; i < f.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(f[i] * 32767)));
    ws.send(pcm.buffer);
  };
  source.connect(tap);
  $("record").disabled = true; $("stop").disabled = false;
}

function stopAudio() {
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  if (state.ctx) state.ctx.close();
  state.stream = state.ctx = null;
  $("record").disabled = false; $("stop").disabled = true;
}

function stop() {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ end: true }));
  stopAudio();
}

async function upload(file) {
  status(`recognising ${file.name}…`); state.estimates = []; draw();
  const r = await fetch("/recognize", { method: "POST", body: file });
  const out = await r.json();
  if (!r.ok) { status(`server: ${out.error}`); return; }
  out.estimates.forEach(add);
  status(`${file.name}: ${out.estimates.length} segments`);
}

$("record").onclick = () => record().catch((err) => { status(`microphone: ${err.message}`); stopAudio(); });
$("stop").onclick = stop;
$("file").onchange = (ev) => ev.target.files[0] && upload(ev.target.files[0]);
const drop = $("drop");
drop.ondragover = (ev) => { ev.preventDefault(); drop.classList.add("over"); };
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = (ev) => { ev.preventDefault(); drop.classList.remove("over"); if (ev.dataTransfer.files[0]) upload(ev.dataTransfer.files[0]); };
health().catch((err) => status(`cannot reach the server: ${err.message}`));
