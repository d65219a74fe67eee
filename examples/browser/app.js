// The page: open DICOM files or a folder, see the tree, view and window the images, scroll a
// stack, and watch a file's bytes explain themselves.  rawdicom runs in Pyodide in a Web
// Worker (worker.js, viewer.py): it reads, builds the tree with its geometry checks, and
// windows the grey images (rawdicom.window); this file only draws what it returns.  Nothing leaves the page: files are
// read where they are, text is inserted as text (textContent).
//
// ?wheel=URL of the rawdicom wheel (default: rawdicom-0.1.0-py3-none-any.whl beside this page,
// `pip wheel . --no-deps -w examples/browser`); ?pyodide=URL of Pyodide's folder (default: the
// npm package installed in tests/wasm).
const params = new URLSearchParams(location.search);
const here = (url) => new URL(url, location.href).href;
const CONFIG = {
  pyodideUrl: here(params.get("pyodide") ?? "../../tests/wasm/node_modules/pyodide/"),
  wheelUrl: here(params.get("wheel") ?? "rawdicom-0.1.0-py3-none-any.whl"),
  viewerUrl: here("viewer.py"),
};
const READ_TIMEOUT_MS = 60_000;  // a file still being read after this: the worker is ended
const HEX_CONTEXT = 96;  // bytes of context shown before and after the selection
const HEX_MAX = 1024;  // bytes of a selection shown at most (then its end)
// Published CT windows (center, width) in HU: rawdicom.pixels.voi.CT_PRESETS (the test
// checks the two agree).
const CT_PRESETS = {
  brain: [40, 80], subdural: [75, 215], stroke: [40, 40], bone: [400, 1800],
  lung: [-600, 1500], mediastinum: [50, 350], abdomen: [50, 400], liver: [30, 150],
};

const $ = (sel) => document.querySelector(sel);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
const setState = (state, message) => {
  document.body.dataset.state = state;
  $("#status").textContent = message;
};

// What the tests read (and what a curious user can look at in the console).
const view = window.viewerState = {
  ready: false, files: null, series: [], stack: null, index: 0, image: null, window: null,
  firstImageMs: null, t0: null, selection: null, entries: [],
};

// Work in progress, for the tests to wait on: user actions count themselves in and out.
view.busy = 0;
const busy = (fn) => async (...args) => {
  view.busy++;
  try { return await fn(...args); } finally { view.busy--; }
};

// -- the worker -------------------------------------------------------------------------
let worker = null;
let nextId = 1;
const pending = new Map();

function startWorker() {
  worker = new Worker("worker.js", { type: "module" });
  worker.onmessage = ({ data }) => {
    const call = pending.get(data.id);
    if (!call) return;
    pending.delete(data.id);
    clearTimeout(call.timer);
    if (data.ok) call.resolve({ result: data.result, buffers: data.buffers });
    else call.reject(new Error(data.error));
  };
  worker.onerror = (event) => console.error("worker:", event.message);
  return call("init", CONFIG, 0);
}

function call(op, args = {}, timeout = READ_TIMEOUT_MS) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = timeout ? setTimeout(() => restart(id), timeout) : null;
    pending.set(id, { resolve, reject, timer });
    worker.postMessage({ id, op, ...args });
  });
}

// A read that takes too long: end the worker (the page never waits on it) and start afresh.
async function restart(id) {
  const stuck = pending.get(id);
  worker.terminate();
  for (const [key, waiting] of pending) {
    clearTimeout(waiting.timer);
    if (key !== id) waiting.reject(new Error("the reader was restarted"));
  }
  pending.clear();
  stuck?.reject(new Error(`still reading after ${READ_TIMEOUT_MS / 1000} s: stopped`));
  await startWorker();
  if (view.files) await call("open", { files: view.files, label: view.label });
}

// -- opening files ----------------------------------------------------------------------
// Files from the picker, the folder picker or a drop: [{name: relative path, file}].
async function fromDrop(items) {
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((ok, no) => entry.file(ok, no));
      out.push({ name: prefix + entry.name, file });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {  // readEntries gives the entries in batches
        const batch = await new Promise((ok, no) => reader.readEntries(ok, no));
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  // Entries (files and folders) where the browser gives them, else the files themselves.
  const dropped = [...items].filter((item) => item.kind === "file")
    .map((item) => [item.webkitGetAsEntry?.(), item.getAsFile()]);
  for (const [entry, file] of dropped) {
    if (entry) await walk(entry, "");
    else if (file) out.push({ name: file.name, file });
  }
  return out;
}

function fromInput(fileList) {
  return [...fileList].map((file) => ({ name: file.webkitRelativePath || file.name, file }));
}

const openFiles = busy(async (files) => {
  if (!files.length) return;
  const t0 = performance.now();
  view.firstImageMs = null;
  const tops = new Set(files.map((f) => f.name.split("/")[0]));
  const label = files.length === 1 ? files[0].name : tops.size === 1 ? [...tops][0]
    : `${files.length} files`;
  // Unique names (two drops may hold the same name): the folder Python sees.
  const seen = new Set();
  view.files = files.map(({ name, file }, i) => {
    const unique = seen.has(name) ? `${i}-${name}` : name;
    seen.add(unique);
    return { name: unique, file };
  });
  view.label = label;
  setState("reading", `Reading ${label}…`);
  clearImage();
  let tree;
  try {
    ({ result: tree } = await call("open", { files: view.files, label }));
  } catch (err) {
    setState("error", `${label}: ${err.message}`);
    return;
  }
  showTree(tree);
  if (tree.error) {
    setState("error", tree.error);
    return;
  }
  // The first image: the largest stack of the largest series (not a scout).
  let best = null;
  for (const series of tree.series) {
    for (const stack of series.stacks) {
      if (!best || stack.images.length > best.images.length) best = stack;
    }
  }
  view.t0 = t0;  // showImage reports the time to the first image drawn
  await showStack(best, 0);
});

// -- the tree ---------------------------------------------------------------------------
function showTree(tree) {
  $("#tree").textContent = (tree.tree ?? []).concat(
    (tree.failed ?? []).map((line) => `! ${line}`)).join("\n");
  const list = $("#series");
  list.replaceChildren();
  view.series = tree.series ?? [];
  for (const series of view.series) {
    for (const stack of series.stacks) {
      const label = `Series ${series.number ?? "?"} ${series.modality ?? ""} ` +
        `${series.description ?? ""}` +
        (series.stacks.length > 1 ? ` · stack ${stack.index}` : "") +
        ` · ${stack.images.length} image${stack.images.length === 1 ? "" : "s"}`;
      const button = el("button", { type: "button", textContent: label.replace(/\s+/g, " "),
        title: stack.reason });
      button.addEventListener("click", busy(() => showStack(stack, 0)));
      stack.button = button;
      list.append(el("li", {}, button));
    }
  }
  $("#browse").hidden = !view.series.length && !tree.failed?.length;
}

// -- the image --------------------------------------------------------------------------
function clearImage() {
  view.stack = null;
  view.image = null;
  $("#viewer").hidden = true;
  $("#explain").hidden = true;
  $("#summary").hidden = true;
}

// A stack's image; ``chosen``: the window to show it in (else its own).
async function showStack(stack, index, chosen = null) {
  if (!stack) return;
  for (const s of view.series.flatMap((series) => series.stacks)) {
    s.button?.classList.toggle("current", s === stack);
  }
  const sameFile = view.stack === stack && view.stack.images[view.index]?.path ===
    stack.images[index]?.path;
  view.stack = stack;
  view.index = index;
  await showImage(stack.images[index], !sameFile, chosen);
}

async function showImage(image, explainToo = true, chosen = null) {
  const name = image.path.split("/").pop();
  const request = view.request = (view.request ?? 0) + 1;  // a newer request supersedes it
  setState("reading", `Reading ${name}…`);
  let meta;
  let buffers;
  try {
    ({ result: meta, buffers } = await call("image", { path: image.path, frame: image.frame,
      window: chosen }));
  } catch (err) {
    if (request === view.request) setState("error", `${name}: ${err.message}`);
    return;
  }
  if (request !== view.request) return;  // scrolled on meanwhile: that image is shown
  $("#viewer").hidden = false;
  $("#probe").textContent = "";
  view.image = { ...meta, path: image.path, position: image.position,
    orientation: image.orientation, instance_number: image.instance_number };
  if (meta.error) {
    drawNothing(meta.error);
    $("#summary").hidden = true;
    setState("error", meta.error);
  } else {
    showSummary(meta.summary);
    if (meta.no_image) {
      drawNothing(meta.no_image);
    } else if (meta.encoding === "native" && meta.samples === 1) {
      // rawdicom.window's bytes, then the stored and the modality values (for the probe)
      const [pixels, stored, values] = buffers;
      const [storedType, valueType] = meta.value_types.map((code) => TYPED_ARRAYS[code]);
      view.image.values = new storedType(stored.buffer);
      view.image.modalityValues = new valueType(values.buffer);
      view.image.ownWindow = meta.own_window;
      view.window = meta.window;
      drawGrey(pixels);
    } else if (meta.encoding === "native") {
      view.image.values = buffers[0];
      view.window = null;
      drawColour(buffers[0]);
    } else {
      await drawEncoded(buffers[0], meta.encoding);
    }
    if (view.t0 !== null && !meta.no_image) {  // the time from the files picked to the image
      view.firstImageMs = performance.now() - view.t0;
      $("#timing").textContent = `First image in ${view.firstImageMs.toFixed(0)} ms.`;
    }
    setState("done", `${name}: ${meta.summary.Modality || "no modality"}, ` +
      `${meta.summary["Transfer syntax"]}` + (meta.note ? ` (${meta.note})` : "") + ".");
  }
  view.t0 = null;
  showOverlay();
  if (explainToo && request === view.request) await explainFile(image.path, request);
}

// Python's array typecodes (viewer.py sends its arrays' bytes) as typed arrays.
const TYPED_ARRAYS = { b: Int8Array, B: Uint8Array, h: Int16Array, H: Uint16Array,
  i: Int32Array, I: Uint32Array, d: Float64Array };

// A greyscale image drawn from its stored values: the window applies.
const windowable = () => Boolean(view.image?.modalityValues);

function drawNothing(message) {
  const canvas = $("#image");
  canvas.width = canvas.height = 0;
  $("#message").textContent = message;
  $("#message").hidden = false;
  view.window = null;
}

// The canvas, sized to the image (the message line hidden).
function canvasFor(img) {
  const canvas = $("#image");
  canvas.width = img.columns;
  canvas.height = img.rows;
  $("#message").hidden = true;
  const ctx = canvas.getContext("2d");
  return [ctx, ctx.createImageData(img.columns, img.rows)];
}

// A grey image: one byte a pixel, rawdicom.window's output (MONOCHROME1 already inverted).
function drawGrey(bytes) {
  const [ctx, pixels] = canvasFor(view.image);
  const out = pixels.data;
  for (let i = 0; i < bytes.length; i++) {
    out[4 * i] = out[4 * i + 1] = out[4 * i + 2] = bytes[i];
    out[4 * i + 3] = 255;
  }
  ctx.putImageData(pixels, 0, 0);
  showOverlay();
}

// RGB, 8 bits: planar (R plane, G plane, B plane) or interleaved.
function drawColour(v) {
  const img = view.image;
  const [ctx, pixels] = canvasFor(img);
  const out = pixels.data;
  const n = img.rows * img.columns;
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < 3; s++) out[4 * i + s] = img.planar ? v[s * n + i] : v[3 * i + s];
    out[4 * i + 3] = 255;
  }
  ctx.putImageData(pixels, 0, 0);
  showOverlay();
}

// Another window for the grey image shown: rawdicom.window computes it in the worker. One
// request at a time; a window asked for meanwhile (a drag moves faster than Python) waits,
// and only the last one waiting is computed.
let windowRunning = false;
let windowWaiting = null;
const setWindow = busy(async (w) => {
  if (!windowable()) return;
  windowWaiting = w;
  if (windowRunning) return;  // the request running takes it up when it is done
  windowRunning = true;
  try {
    while (windowWaiting) {
      const next = windowWaiting;
      windowWaiting = null;
      const img = view.image;
      const { buffers } = await call("window", { path: img.path, frame: img.frame,
        center: next.center, width: next.width, function: next.function });
      if (view.image !== img || !buffers.length) return;  // another image meanwhile
      view.window = next;
      drawGrey(buffers[0]);
    }
  } finally {
    windowRunning = false;
    windowWaiting = null;
  }
});

// JPEG Baseline: the browser's own decoder.
async function drawEncoded(bytes, type) {
  const canvas = $("#image");
  try {
    const bitmap = await createImageBitmap(new Blob([bytes], { type }));
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    $("#message").hidden = true;
    view.window = null;
  } catch (err) {
    drawNothing(`the browser could not decode this ${type} frame: ${err.message}`);
  }
}

// Orientation letters of a direction in patient space (LPS: +x left, +y posterior, +z head):
// the letters of its components, largest first, those under 0.25 left out.
function letters(v) {
  if (!v) return "";
  const names = [["R", "L"], ["A", "P"], ["I", "S"]];
  return [0, 1, 2].filter((i) => Math.abs(v[i]) >= 0.25)
    .sort((a, b) => Math.abs(v[b]) - Math.abs(v[a]))
    .map((i) => names[i][v[i] > 0 ? 1 : 0]).join("");
}

function showOverlay() {
  const img = view.image;
  const stack = view.stack;
  const o = img?.orientation;
  const row = o ? o.slice(0, 3) : null;  // direction of increasing column: to the right
  const col = o ? o.slice(3, 6) : null;  // direction of increasing row: down
  const neg = (v) => v && v.map((x) => -x);
  $("#o-right").textContent = letters(row);
  $("#o-left").textContent = letters(neg(row));
  $("#o-bottom").textContent = letters(col);
  $("#o-top").textContent = letters(neg(col));
  const pos = img?.position;
  $("#slice").textContent = stack ? `Image ${view.index + 1} / ${stack.images.length}` +
    (img?.frames > 1 ? ` · frame ${img.frame + 1} of ${img.frames}` : "") +
    (pos ? ` · position ${pos.map((v) => v.toFixed(2)).join(", ")} mm` : "") : "";
  const w = view.window;
  $("#wl").textContent = w ? `W ${fmt(w.width)} L ${fmt(w.center)} (${w.name}${
    w.function !== "LINEAR" ? `, ${w.function}` : ""})` : "";
  $("#tools").hidden = !windowable();
}

const fmt = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

function unitOf(img) {
  if (img.rescale_type) return img.rescale_type;
  if (img.summary?.Modality === "CT" && (img.slope !== undefined || img.intercept !== undefined)) {
    return "HU";
  }
  return img.units || "";
}

function probe(event) {
  const img = view.image;
  const canvas = $("#image");
  if (!img?.values || !canvas.width) return;
  const rect = canvas.getBoundingClientRect();
  const x = Math.floor((event.clientX - rect.left) / rect.width * canvas.width);
  const y = Math.floor((event.clientY - rect.top) / rect.height * canvas.height);
  if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) return;
  const i = y * img.columns + x;
  let text;
  if (img.samples === 3) {
    const n = img.rows * img.columns;
    const rgb = [0, 1, 2].map((s) => (img.planar ? img.values[s * n + i] : img.values[3 * i + s]));
    text = `RGB ${rgb.join(", ")}`;
  } else {
    const rescaled = img.slope !== undefined || img.intercept !== undefined;
    const unit = unitOf(img);
    text = rescaled ? `${fmt(img.modalityValues[i])} ${unit || "(modality value, no unit)"} ` +
      `(stored ${img.values[i]})` : `stored value ${img.values[i]}${unit ? " " + unit : ""}`;
  }
  $("#probe").textContent = `(${x}, ${y}): ${text}`;
}

// Dragging: right/left widens/narrows the window, down/up raises/lowers the level; the step
// follows the window, so that a drag across the image spans it whatever its size.
let drag = null;
function startDrag(event) {
  if (!view.window || !windowable()) return;
  drag = { x: event.clientX, y: event.clientY, ...view.window };
  event.preventDefault();
}
function moveDrag(event) {
  if (!drag) return;
  const step = Math.max(drag.width, 10) / 256;
  const width = Math.max(1, Math.round(drag.width + (event.clientX - drag.x) * step));
  const center = Math.round(drag.center + (event.clientY - drag.y) * step);
  setWindow({ center, width, function: drag.function === "SIGMOID" ? "SIGMOID" : "LINEAR",
    name: "dragged", chosen: true });
}

// Scrolling: the stack's images in slice order (the order rawdicom's stacks give).
const step = busy(async (delta) => {
  const stack = view.stack;
  if (!stack) return;
  const index = Math.min(stack.images.length - 1, Math.max(0, view.index + delta));
  if (index === view.index) return;
  const keep = view.window;  // a window the user chose stays while scrolling
  await showStack(stack, index, keep?.chosen ? keep : null);
});

// -- the summary and the bytes explained ---------------------------------------------------
function showSummary(summary) {
  const dl = $("#summary");
  dl.replaceChildren();
  for (const [key, value] of Object.entries(summary ?? {})) {
    dl.append(el("dt", { textContent: key }), el("dd", { textContent: value }));
  }
  dl.hidden = false;
}

async function explainFile(path, request) {
  let listing;
  try {
    ({ result: listing } = await call("explain", { path }));
  } catch (err) {
    $("#explain-note").textContent = `explain: ${err.message}`;
    return;
  }
  if (request !== view.request) return;  // another image is on its way
  view.explained = listing;
  view.entries = listing.entries;
  view.parts = listing.entries.flatMap((entry, index) =>
    entry.parts.map(([start, end, role, meaning, space]) =>
      ({ start, end, role, meaning, space, index })));
  view.spaceBytes = { file: null, inflated: null };
  const tbody = $("#entries tbody");
  tbody.replaceChildren();
  // Where the file meta group and the data set begin: a heading row each (not an entry).
  const heading = (text) => tbody.append(el("tr", { className: "group" },
    el("td", { colSpan: 5, textContent: text })));
  let region = null;
  for (const [index, entry] of listing.entries.entries()) {
    const meta = entry.depth === 0 && entry.tag?.startsWith("0002");
    const now = entry.kind === "preamble" || entry.kind === "prefix" ? "framing"
      : meta ? "meta" : entry.depth === 0 ? "dataset" : region;
    if (now !== region && now === "meta") {
      heading("File Meta Information, group 0002: always explicit VR little endian");
    } else if (now !== region && now === "dataset") {
      heading(`Data set: ${listing.syntax || "no transfer syntax given"}` +
        (listing.spaces.includes("inflated") ? ", offsets (ⁱ) in the inflated bytes" : ""));
    }
    region = now;
    const part = (role) => entry.parts.find((p) => p[2] === role);
    const value = part("value") ?? part("preamble") ?? part("prefix") ?? part("deflated")
      ?? part("unparsed");
    const vr = part("vr");
    const length = part("length");
    const tr = el("tr", { className: entry.kind },
      el("td", { className: "offset", textContent: hex(entry.parts[0][0]) +
        (entry.parts[0][4] === "inflated" ? "ⁱ" : "") }),
      el("td", { className: "title", textContent: entry.title }),
      el("td", { className: "vr", textContent: vr ? vr[3].slice(0, 2) : "" }),
      el("td", { className: "length", textContent: length ? length[3].split(" ")[0] : "" }),
      el("td", { className: "value", textContent: value ? value[3] : "" }));
    tr.firstChild.nextSibling.style.paddingLeft = `${0.4 + 1.2 * entry.depth}rem`;
    tr.dataset.index = index;
    if (meta) tr.classList.add("meta");
    tr.addEventListener("click", () => select(index));
    tbody.append(tr);
  }
  const more = listing.total > listing.entries.length
    ? ` The first ${listing.entries.length} of ${listing.total} entries are listed.` : "";
  $("#explain-note").textContent = `${listing.name}: ${listing.size.toLocaleString("en")} ` +
    `bytes, ${listing.total} entries (elements, items, delimiters, framing).${more}` +
    (listing.problem ? ` The walk stopped: ${listing.problem}` : "");
  $("#explain").hidden = false;
  await select(listing.entries.findIndex((e) => e.kind === "element") ?? 0);
}

const hex = (n, width = 8) => n.toString(16).toUpperCase().padStart(width, "0");

// Select an entry: its row, and its bytes in the hex view (a bounded window around it).
const select = busy(async (index) => {
  const entry = view.entries[index];
  if (!entry) return;
  for (const tr of $("#entries tbody").querySelectorAll("tr.selected")) {
    tr.classList.remove("selected");
  }
  const row = $(`#entries tbody tr[data-index="${index}"]`);
  row?.classList.add("selected");
  row?.scrollIntoView({ block: "nearest" });
  const space = entry.parts[0][4];
  const start = entry.parts[0][0];
  const end = entry.parts[entry.parts.length - 1][1];
  view.selection = { index, start, end, space, title: entry.title };
  const from = Math.max(0, Math.floor((start - HEX_CONTEXT) / 16) * 16);
  const headEnd = Math.min(end, start + HEX_MAX);
  const ranges = [[from, Math.ceil((headEnd + HEX_CONTEXT) / 16) * 16]];
  if (end > headEnd) {  // a long value: its last bytes too, after a gap (or joined)
    const tail = [Math.floor((end - 64) / 16) * 16, Math.ceil((end + 16) / 16) * 16];
    if (tail[0] <= ranges[0][1]) ranges[0][1] = Math.max(ranges[0][1], tail[1]);
    else ranges.push(tail);
  }
  const chunks = [];
  for (const [a, b] of ranges) chunks.push([a, await spaceSlice(space, a, b)]);
  renderHex(chunks, space, index);
});

async function spaceSlice(space, start, end) {
  if (space === "file") {
    const file = view.files.find((f) => `/data/${f.name}` === view.image?.path)?.file;
    if (file) return new Uint8Array(await file.slice(start, end).arrayBuffer());
  }
  const { buffers } = await call("bytes", { space, start, end });
  return buffers[0];
}

function partAt(offset, space) {
  const parts = view.parts;
  let lo = 0;
  let hi = parts.length - 1;
  while (lo <= hi) {  // parts of one space are in offset order
    const mid = (lo + hi) >> 1;
    const p = parts[mid];
    if (p.space !== space) {  // the file space comes first, then the inflated one
      if (space === "inflated") lo = mid + 1; else hi = mid - 1;
    } else if (offset < p.start) hi = mid - 1;
    else if (offset >= p.end) lo = mid + 1;
    else return p;
  }
  return null;
}

function renderHex(chunks, space, selected) {
  const box = $("#hex");
  box.replaceChildren();
  for (const [n, [base, bytes]] of chunks.entries()) {
    if (n > 0) {
      const skipped = base - chunks[n - 1][0] - chunks[n - 1][1].length;
      box.append(el("div", { className: "gap",
        textContent: `… ${skipped.toLocaleString("en")} bytes not shown …` }));
    }
    for (let line = 0; line < bytes.length; line += 16) {
      const div = el("div", { className: "line" },
        el("span", { className: "addr", textContent: hex(base + line) + " " }));
      const ascii = el("span", { className: "ascii" });
      for (let i = line; i < Math.min(line + 16, bytes.length); i++) {
        const offset = base + i;
        const part = partAt(offset, space);
        const span = el("span", { textContent: hex(bytes[i], 2) });
        span.className = `b ${part ? part.role : "none"}` +
          (part && part.index === selected ? " sel" : "");
        span.dataset.offset = offset;
        div.append(span, " ");
        const ch = bytes[i] >= 32 && bytes[i] < 127 ? String.fromCharCode(bytes[i]) : "·";
        ascii.append(el("span", { className: span.className, textContent: ch }));
      }
      div.append(ascii);
      box.append(div);
    }
  }
}

function hoverHex(event) {
  const offset = Number(event.target.dataset?.offset);
  if (!Number.isFinite(offset) || !view.selection) return;
  const part = partAt(offset, view.selection.space);
  $("#hover").textContent = part ? `${hex(offset)}: ${view.entries[part.index].title} — ` +
    `${part.role}: ${part.meaning}` : `${hex(offset)}: not explained`;
  view.hovered = part ? { offset, index: part.index, role: part.role } : { offset };
}

// -- start ------------------------------------------------------------------------------
async function start() {
  const t0 = performance.now();
  const { result: versions } = await startWorker();
  view.ready = true;
  setState("ready", `Ready: rawdicom ${versions.rawdicom} on Pyodide ${versions.pyodide}. ` +
    "Open a DICOM file, several files or a folder (or drop them on the page).");
  $("#timing").textContent = `Loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s.`;
  for (const input of [$("#file"), $("#folder")]) {
    input.disabled = false;
    input.addEventListener("change", () => {
      const files = fromInput(input.files);
      input.value = "";  // the same file picked again is opened again
      openFiles(files);
    });
  }
  document.addEventListener("dragover", (event) => event.preventDefault());
  document.addEventListener("drop", async (event) => {
    event.preventDefault();
    view.busy++;
    try { await openFiles(await fromDrop(event.dataTransfer.items)); } finally { view.busy--; }
  });
  const canvas = $("#image");
  canvas.addEventListener("mousemove", probe);
  canvas.addEventListener("mousedown", startDrag);
  window.addEventListener("mousemove", moveDrag);
  window.addEventListener("mouseup", () => { drag = null; });
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    step(Math.sign(event.deltaY));
  }, { passive: false });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest?.("input, textarea")) return;
    const delta = { ArrowDown: 1, ArrowRight: 1, PageDown: 10, ArrowUp: -1, ArrowLeft: -1,
      PageUp: -10 }[event.key];
    if (delta) { event.preventDefault(); step(delta); }
  });
  for (const [name, [center, width]] of Object.entries(CT_PRESETS)) {
    const button = el("button", { type: "button", textContent: name });
    button.dataset.preset = name;
    button.addEventListener("click", () => {
      setWindow({ center, width, function: "LINEAR", name, chosen: true });
    });
    $("#presets").append(button);
  }
  $("#own").addEventListener("click", () => setWindow(view.image?.ownWindow ?? {}));
  $("#hex").addEventListener("mouseover", hoverHex);
}

start().catch((err) => {
  console.error(err);
  setState("error", `Could not start: ${err.message ?? err}`);
});
