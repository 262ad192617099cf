// Browser end-to-end test of examples/digit_board (E4's drawing app): headless Debian Chromium,
// driven by playwright-core, draws real MNIST test digits on the page's canvas with the mouse,
// stroke by stroke, and checks the digit the page shows; then the n key and the Clear button.
//
//   node digit_board.e2e.mjs URL MNIST_DIR [SCREENSHOT_DIR]
//
// Run by run_digit_board.sh (a CTest test), which starts the server and skips when Chromium or
// playwright-core is missing.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const [url, mnistDir, shotDir] = process.argv.slice(2);
if (!url || !mnistDir) {
  console.error("usage: node digit_board.e2e.mjs URL MNIST_DIR [SCREENSHOT_DIR]");
  process.exit(2);
}

// The MNIST test set (IDX files: big-endian header, then bytes).
function readIdx(file) {
  const b = fs.readFileSync(path.join(mnistDir, file));
  const dims = b[3];
  const shape = [];
  for (let i = 0; i < dims; ++i) shape.push(b.readUInt32BE(4 + 4 * i));
  return { shape, data: b.subarray(4 + 4 * dims) };
}
const images = readIdx("t10k-images-idx3-ubyte");
const labels = readIdx("t10k-labels-idx1-ubyte");

// The test digits drawn (indices into the test set); E2E_DIGITS="0-29" or "3,5" draws others.
function digitList(spec) {
  const out = [];
  for (const part of spec.split(",")) {
    const [a, b] = part.split("-").map(Number);
    for (let i = a; i <= (b ?? a); ++i) out.push(i);
  }
  return out;
}
const DIGITS = digitList(process.env.E2E_DIGITS || "0,1,2,4");
const SCALE = 12;        // canvas pixels per MNIST pixel
const PEN = SCALE;       // the pen's width, so that each stroke covers one row of MNIST pixels
const OFFSET = (400 - 28 * SCALE) / 2;

// Strokes of one digit: each run of ink (>= 128) along a row becomes one stroke.
function strokes(index) {
  const px = images.data.subarray(index * 784, (index + 1) * 784);
  const out = [];
  for (let y = 0; y < 28; ++y) {
    let x = 0;
    while (x < 28) {
      if (px[y * 28 + x] < 128) { ++x; continue; }
      const start = x;
      while (x < 28 && px[y * 28 + x] >= 128) ++x;
      out.push({ y, x0: start, x1: x - 1 });
    }
  }
  return out;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failures = 0;
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  page.on("pageerror", (e) => { console.error("page error:", e.message); ++failures; });
  await page.goto(`${url}?pen=${PEN}`);
  await page.waitForFunction(() => document.body.dataset.state === "empty");
  const box = await page.locator("#ink").boundingBox();
  const k = box.width / 400;  // CSS pixels per canvas pixel
  const at = (cx, cy) => [box.x + cx * k, box.y + cy * k];

  for (const index of DIGITS) {
    const label = labels.data[index];
    await page.keyboard.press("n");
    await page.waitForFunction(() => document.body.dataset.state === "empty");
    const list = strokes(index);
    for (const s of list) {
      const y = OFFSET + (s.y + 0.5) * SCALE;
      await page.mouse.move(...at(OFFSET + (s.x0 + 0.5) * SCALE, y));
      await page.mouse.down();
      await page.mouse.move(...at(OFFSET + (s.x1 + 0.5) * SCALE, y), { steps: 4 });
      await page.mouse.up();
    }
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state),
                               null, { timeout: 30000 });
    const state = await page.evaluate(() => document.body.dataset.state);
    const shown = (await page.locator("#prediction").textContent()).trim();
    const word = (await page.locator("#word").textContent()).trim();
    const ok = state === "done" && shown === String(label);
    console.log(`${ok ? "ok  " : "FAIL"} test digit ${index}: label ${label}, ${list.length} strokes,` +
                ` the page shows ${shown} (${word})${state === "error" ? ": " + await page.locator("#status").textContent() : ""}`);
    if (!ok) ++failures;
    if (shotDir) await page.screenshot({ path: path.join(shotDir, `digit_board_${index}.png`) });
  }

  // the n key and the Clear button both start again
  await page.keyboard.press("n");
  await page.waitForFunction(() => document.body.dataset.state === "empty");
  const cleared = (await page.locator("#prediction").textContent()).trim();
  if (cleared !== "\u2013") { console.log(`FAIL after n the page still shows ${cleared}`); ++failures; }
  await page.mouse.move(...at(100, 100));
  await page.mouse.down();
  await page.mouse.move(...at(300, 300), { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => document.body.dataset.state === "done");
  await page.click("#clear");
  await page.waitForFunction(() => document.body.dataset.state === "empty");
  const blank = await page.evaluate(() => {
    const c = document.getElementById("ink");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) if (d[i] !== 0) return false;
    return true;
  });
  console.log(`${blank ? "ok  " : "FAIL"} the Clear button empties the canvas`);
  if (!blank) ++failures;
} finally {
  await browser.close();
}
if (failures) {
  console.log(`${failures} failure(s)`);
  process.exit(1);
}
console.log("digit board end-to-end test passed");
