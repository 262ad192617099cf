// examples/digit_board_page.hpp - the page digit_board serves: plain HTML, CSS and JavaScript, no
// framework. A black canvas to draw on in white with the mouse, a pen or a finger (pointer
// events); when a stroke ends the canvas goes to POST /predict and the answer is shown: the
// digit and its word, the ten probabilities, a red box around the drawing with the word beside
// it (as the document's pygame window), and the 28x28 picture the model saw. "Clear" or the
// n key starts again. `?pen=N` sets the pen's width in canvas pixels (default 20).
//
// For tests, <body data-state> is "empty", "drawing", "predicting", "done" or "error", and
// #prediction holds the digit shown.
#pragma once

namespace digit_board {

inline constexpr const char* page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Digit Board - xkeras</title>
<style>
  body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
  p.help { margin: 0 0 1rem; color: #555; }
  main { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
  #board { position: relative; width: min(400px, 92vw); aspect-ratio: 1; }
  #board canvas { position: absolute; left: 0; top: 0; width: 100%; height: 100%;
                  border-radius: 6px; }
  #ink { background: #000; touch-action: none; cursor: crosshair; }
  #marks { pointer-events: none; }
  #side { min-width: 16rem; }
  #prediction { font-size: 4rem; font-weight: bold; line-height: 1; }
  #word { font-size: 1.3rem; color: #c00; min-height: 1.6rem; }
  table { border-collapse: collapse; margin: .8rem 0; }
  td { padding: 1px 6px; font-size: .9rem; }
  td.bar { width: 11rem; }
  td.bar div { height: .8rem; background: #1f77b4; }
  tr.best td { font-weight: bold; }
  tr.best td.bar div { background: #d62728; }
  #seen { width: 84px; height: 84px; image-rendering: pixelated; border: 1px solid #ccc;
          background: #000; vertical-align: middle; }
  button { font-size: 1rem; padding: .4rem 1.2rem; }
  #status { color: #a00; min-height: 1.2rem; }
  kbd { border: 1px solid #bbb; border-radius: 3px; padding: 0 .3em; font-size: .95em; }
</style>
</head>
<body data-state="empty">
<h1>Digit Board</h1>
<p class="help">Draw a digit with the mouse or a finger. The model names it when the stroke
ends. <b>Clear</b> or the <kbd>n</kbd> key starts again.</p>
<main>
  <div id="board">
    <canvas id="ink" width="400" height="400" aria-label="drawing area"></canvas>
    <canvas id="marks" width="400" height="400"></canvas>
  </div>
  <div id="side">
    <div id="prediction" aria-live="polite">&ndash;</div>
    <div id="word"></div>
    <table id="probs"></table>
    <div>Model input: <canvas id="seen" width="28" height="28"></canvas></div>
    <p><button id="clear" type="button">Clear (n)</button></p>
    <p id="status"></p>
  </div>
</main>
<script>
"use strict";
const ink = document.getElementById("ink");
const ctx = ink.getContext("2d", { willReadFrequently: true });
const marks = document.getElementById("marks").getContext("2d");
const seen = document.getElementById("seen").getContext("2d");
const W = ink.width, H = ink.height;
const pen = Number(new URLSearchParams(location.search).get("pen")) || 20;
const probs = document.getElementById("probs");
const rows = [];
for (let d = 0; d < 10; ++d) {
  const tr = probs.insertRow();
  tr.insertCell().textContent = d;
  const bar = tr.insertCell();
  bar.className = "bar";
  bar.appendChild(document.createElement("div")).style.width = "0";
  const value = tr.insertCell();
  rows.push({ tr, bar: bar.firstChild, value });
}
let drawing = false, last = null, seq = 0;

function setState(s) { document.body.dataset.state = s; }

function clearAll() {
  ++seq;  // answers still on their way are for the old drawing
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, W, H);
  marks.clearRect(0, 0, W, H);
  seen.clearRect(0, 0, 28, 28);
  document.getElementById("prediction").textContent = "\u2013";
  document.getElementById("word").textContent = "";
  document.getElementById("status").textContent = "";
  for (const r of rows) { r.bar.style.width = "0"; r.value.textContent = ""; r.tr.className = ""; }
  setState("empty");
}

function position(e) {
  const r = ink.getBoundingClientRect();
  return { x: (e.clientX - r.left) * W / r.width, y: (e.clientY - r.top) * H / r.height };
}

function segment(a, b) {
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = pen;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(a.x, a.y);
  ctx.lineTo(b.x, b.y);
  ctx.stroke();
}

ink.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  ink.setPointerCapture(e.pointerId);
  drawing = true;
  last = position(e);
  segment(last, last);
  setState("drawing");
});
ink.addEventListener("pointermove", (e) => {
  if (!drawing) return;
  const p = position(e);
  segment(last, p);
  last = p;
});
function endStroke() {
  if (!drawing) return;
  drawing = false;
  predict();
}
ink.addEventListener("pointerup", endStroke);
ink.addEventListener("pointercancel", endStroke);
document.getElementById("clear").addEventListener("click", clearAll);
document.addEventListener("keydown", (e) => { if (e.key === "n" || e.key === "N") clearAll(); });

async function predict() {
  const id = ++seq;
  const rgba = ctx.getImageData(0, 0, W, H).data;
  const pixels = new Array(W * H);
  for (let i = 0; i < W * H; ++i) pixels[i] = rgba[4 * i];
  setState("predicting");
  try {
    const res = await fetch("/predict", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ width: W, height: H, pixels }),
    });
    const answer = await res.json();
    if (id !== seq) return;
    if (!res.ok) throw new Error(answer.error || res.statusText);
    show(answer);
    setState("done");
  } catch (err) {
    if (id !== seq) return;
    document.getElementById("status").textContent = String(err.message || err);
    setState("error");
  }
}

function show(a) {
  document.getElementById("prediction").textContent = a.digit;
  document.getElementById("word").textContent = a.label;
  document.getElementById("status").textContent = "";
  a.probabilities.forEach((p, d) => {
    rows[d].bar.style.width = (100 * p).toFixed(1) + "%";
    rows[d].value.textContent = (100 * p).toFixed(1) + "%";
    rows[d].tr.className = d === a.digit ? "best" : "";
  });
  // the document's red box around the drawing, its word beside the top right corner
  const [x0, y0, x1, y1] = a.box;
  marks.clearRect(0, 0, W, H);
  marks.strokeStyle = "#e00";
  marks.lineWidth = 2;
  marks.strokeRect(x0, y0, x1 - x0, y1 - y0);
  marks.font = "bold 18px 'DejaVu Sans', sans-serif";
  const tw = marks.measureText(a.label).width;
  const tx = Math.min(x1 + 5, W - tw - 2), ty = Math.max(y0, 20);
  marks.fillStyle = "rgba(255,255,255,.9)";
  marks.fillRect(tx - 2, ty - 18, tw + 4, 22);
  marks.fillStyle = "#e00";
  marks.fillText(a.label, tx, ty);
  const img = seen.createImageData(28, 28);
  a.input.forEach((v, i) => {
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  });
  seen.putImageData(img, 0, 0);
}

clearAll();
</script>
</body>
</html>
)html";

}  // namespace digit_board
