// Drive the browser page (examples/browser/) in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core: no browser download) as a person would, and report what it shows.
//
//   node tests/wasm/browser_check.mjs URL SHOTS_DIR PLAN.json
//
// PLAN: {ct, big, study, irregular, many, probes: [[column, row]...], more: [file...], bad:
// [file...], drop: URL}.
// 1. opens `ct` with the file picker: the first image (its time), the window, the canvas
//    (RGB, base64), the value under the cursor at a few pixels;
// 2. drags on the image: the new window and canvas (and the time from the mouse released to
//    the last window drawn);
// 3. clicks the Patient's Name row of the explain listing and hovers a byte of it: the
//    selection, the highlighted bytes with their roles, the hover line; a screenshot
//    SHOTS_DIR/browser-explain.png; then the Pixel Data row (a long value); then opens
//    `big` (a 512x512 CT: the time to its first image, Pyodide warm);
// 4. opens `study` with the folder picker: the tree, the stacks, then five presses of the
//    down arrow, a click on Patient's Name (in the inflated bytes of a deflated file), a
//    screenshot SHOTS_DIR/browser-ct.png (timings hidden), two turns of the wheel and ten
//    quick presses: the image shown after each; then opens the folder `irregular` (its tree)
//    and the folder `many` (300 slices: listed, then scrolled to its last slice);
// 5. opens each of `more` (what the page shows) and each of `bad` (the status line), then
//    `ct` again (the page goes on);
// 6. drops the file at URL `drop` (fetched by the page) on the page.
// Prints one JSON object; CHROMIUM (env) names the browser, /usr/bin/chromium by default.
import path from "node:path";
import { chromium } from "playwright-core";

import { readFileSync } from "node:fs";

const [url, shots, planFile] = process.argv.slice(2);
if (!url || !shots || !planFile) {
  process.stderr.write("usage: node browser_check.mjs URL SHOTS_DIR PLAN.json\n");
  process.exit(2);
}
const plan = JSON.parse(readFileSync(planFile, "utf8"));
const ctFile = plan.ct;

const t0 = performance.now();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // The machine has no network: keep Chromium from trying to reach anything by itself.
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
const result = { requests: [], console: [] };

// What the page shows now (read in the page).
const pageState = () => {
  const v = window.viewerState;
  const canvas = document.querySelector("#image");
  let rgb = null;
  if (canvas.width) {
    const rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    const channels = new Uint8Array(rgba.length / 4 * 3);
    for (let i = 0; i < rgba.length / 4; i++) {
      for (let c = 0; c < 3; c++) channels[3 * i + c] = rgba[4 * i + c];
    }
    let text = "";
    for (let i = 0; i < channels.length; i += 0x8000) {
      text += String.fromCharCode(...channels.subarray(i, i + 0x8000));
    }
    rgb = btoa(text);
  }
  const text = (sel) => document.querySelector(sel)?.textContent ?? "";
  return {
    state: document.body.dataset.state, status: text("#status"), timing: text("#timing"),
    firstImageMs: v.firstImageMs,
    image: v.image && { path: v.image.path, rows: v.image.rows, columns: v.image.columns,
      photometric: v.image.photometric, error: v.image.error ?? null,
      no_image: v.image.no_image ?? null, position: v.image.position, frame: v.image.frame },
    window: v.window && { center: v.window.center, width: v.window.width,
      function: v.window.function, name: v.window.name },
    canvas: { width: canvas.width, height: canvas.height, rgb },
    probe: text("#probe"), explainNote: text("#explain-note"),
    index: v.index, stackLength: v.stack?.images.length ?? null,
    slice: text("#slice"), wl: text("#wl"), tools: !document.querySelector("#tools").hidden,
    message: document.querySelector("#message").hidden
      ? "" : text("#message"),
    orientation: ["top", "bottom", "left", "right"].map((s) => text(`#o-${s}`)),
    tree: text("#tree"),
    stacks: [...document.querySelectorAll("#series button")].map((b) => b.textContent),
    headings: [...document.querySelectorAll("#entries tbody tr.group")].map((tr) => tr.textContent),
    summary: Object.fromEntries([...document.querySelectorAll("#summary dt")].map(
      (dt) => [dt.textContent, dt.nextElementSibling.textContent])),
    entries: [...document.querySelectorAll("#entries tbody tr:not(.group)")].map(
      (tr) => [...tr.children].map((td) => td.textContent)),
    selection: v.selection,
    highlighted: [...document.querySelectorAll("#hex .line > .b.sel")].map(
      (s) => [Number(s.dataset.offset), s.classList[1]]),
    hexSpans: document.querySelectorAll("#hex .b").length,
    hexGaps: [...document.querySelectorAll("#hex .gap")].map((g) => g.textContent),
    hover: text("#hover"),
  };
};

const settled = async (page) => page.waitForFunction(
  () => window.viewerState?.busy === 0 && ["done", "error"].includes(document.body.dataset.state),
  null, { timeout: Number(process.env.SETTLE_TIMEOUT_MS || 120_000) });

async function pick(page, selector, files) {
  await page.evaluate(() => { document.body.dataset.state = "picking"; });
  const t1 = performance.now();
  await page.setInputFiles(selector, files);
  const setS = (performance.now() - t1) / 1000;  // the files handed to the page
  await settled(page);
  return { wall_s: (performance.now() - t1) / 1000, set_s: setS,
    ...(await page.evaluate(pageState)) };
}

try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("request", (req) => result.requests.push(req.url()));
  page.on("console", (msg) => result.console.push(`${msg.type()}: ${msg.text()}`));
  page.on("pageerror", (err) => result.console.push(`pageerror: ${err.message}`));

  await page.goto(url);
  await page.waitForFunction(
    () => ["ready", "error"].includes(document.body.dataset.state), null, { timeout: 120_000 });
  result.ready_s = (performance.now() - t0) / 1000;
  result.state = await page.evaluate(() => document.body.dataset.state);
  result.status = await page.evaluate(() => document.querySelector("#status").textContent);
  if (result.state === "ready") {
    // 1. one CT file
    result.ct = await pick(page, "#file", ctFile);
    // The value under the cursor at a few pixels (column, row).
    result.probes = [];
    const imageBox = await page.locator("#image").boundingBox();
    for (const [col, row] of plan.probes ?? []) {
      await page.mouse.move(imageBox.x + (col + 0.5) * imageBox.width / result.ct.canvas.width,
        imageBox.y + (row + 0.5) * imageBox.height / result.ct.canvas.height);
      result.probes.push([col, row, await page.locator("#probe").textContent()]);
    }

    // 2. drag on the image
    const box = await page.locator("#image").boundingBox();
    const x = box.x + box.width / 2;
    const y = box.y + box.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + 40, y + 20, { steps: 4 });
    await page.mouse.move(x + 80, y - 30, { steps: 4 });
    const t3 = performance.now();
    await page.mouse.up();
    await settled(page);
    result.dragged = { drag: [80, -30], settleMs: performance.now() - t3,
      ...(await page.evaluate(pageState)) };

    // 3. the explain view: click Patient's Name, hover its first value byte
    const row = page.locator("#entries tbody tr", { hasText: "PatientName" }).first();
    await row.click();
    await settled(page);
    const clicked = await page.evaluate(pageState);
    const valueByte = clicked.highlighted.find(([, role]) => role === "value");
    if (valueByte) {
      await page.locator(`#hex .line > .b[data-offset="${valueByte[0]}"]`).hover();
    }
    result.clicked = { ...clicked, hover: await page.locator("#hover").textContent(),
      hovered: valueByte ? valueByte[0] : null };
    await page.locator("#explain").scrollIntoViewIfNeeded();
    await page.locator("#explain").screenshot({ path: path.join(shots, "browser-explain.png") });
    await page.locator("#entries tbody tr", { hasText: "PixelData" }).first().click();
    await settled(page);
    result.pixelData = await page.evaluate(pageState);
    if (plan.big) result.big = await pick(page, "#file", plan.big);

    // 4. the study folder, then scrolling its largest stack
    result.study = await pick(page, "#folder", plan.study);
    result.scrolled = [];
    await page.mouse.click(5, 5);  // keys go to the page, not an input
    for (let i = 0; i < 5; i++) {
      const t2 = performance.now();
      await page.keyboard.press("ArrowDown");
      await settled(page);
      const ms = performance.now() - t2;  // the next image, and its bytes explained
      result.scrolled.push(await page.evaluate((ms) => ({ ms,
        index: window.viewerState.index, slice: document.querySelector("#slice").textContent,
        path: window.viewerState.image.path, position: window.viewerState.image.position }), ms));
    }
    // An element of a deflated file: its bytes are in the inflated data.
    await page.locator("#entries tbody tr", { hasText: "PatientName" }).first().click();
    await settled(page);
    result.inflated = await page.evaluate(pageState);
    // The study's CT in its window, a few slices in: the screenshot of the viewer.
    await page.mouse.move(0, 0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(shots, "browser-ct.png"),
      style: "#timing { visibility: hidden }", clip: { x: 0, y: 0, width: 1400, height: 820 } });
    const canvasBox = await page.locator("#image").boundingBox();
    await page.mouse.move(canvasBox.x + 10, canvasBox.y + 10);
    for (let i = 0; i < 2; i++) {
      await page.mouse.wheel(0, 100);
      await page.waitForTimeout(50);
      await settled(page);
    }
    result.wheeled = await page.evaluate(pageState);
    // Ten presses at once: the page ends on the tenth image, its listing that image's.
    for (let i = 0; i < 10; i++) await page.keyboard.press("ArrowDown");
    await settled(page);
    result.rapid = await page.evaluate(pageState);
    if (plan.irregular) result.irregular = await pick(page, "#folder", plan.irregular);
    // A folder of many slices (`many`): listed, then scrolled from the first to the last
    // slice with one press of the down arrow per slice.
    if (plan.many) {
      result.many = await pick(page, "#folder", plan.many);
      await page.mouse.click(5, 5);
      const t3 = performance.now();
      for (let i = 1; i < result.many.stackLength; i++) await page.keyboard.press("ArrowDown");
      await settled(page);
      result.manyEnd = { ms: performance.now() - t3, ...(await page.evaluate(pageState)) };
    }

    // 5. other files, and files that are not good DICOM
    result.more = [];
    for (const file of plan.more ?? []) {
      result.more.push({ file, ...(await pick(page, "#file", file)) });
    }
    result.bad = [];
    for (const file of plan.bad ?? []) {
      result.bad.push({ file, ...(await pick(page, "#file", file)) });
    }
    // The page still answers after them.
    result.after = await pick(page, "#file", ctFile);

    // 6. a file dropped on the page (fetched from the server, dropped as a File)
    if (plan.drop) {
      await page.evaluate(() => { document.body.dataset.state = "picking"; });
      await page.evaluate(async (url) => {
        const blob = await (await fetch(url)).blob();
        const transfer = new DataTransfer();
        transfer.items.add(new File([blob], url.split("/").pop()));
        document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer,
          bubbles: true, cancelable: true }));
      }, plan.drop);
      await settled(page);
      result.dropped = await page.evaluate(pageState);
    }
  } else {
    await page.screenshot({ path: path.join(shots, "browser-failed.png"), fullPage: true });
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + "\n");
