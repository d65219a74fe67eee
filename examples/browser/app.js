// Loads Pyodide from the npm package installed in tests/wasm (no CDN), installs the rawdicom
// wheel by unpacking it into site-packages, and shows the element listing and a summary of a
// file the user picks.  Everything happens in this page; only text is inserted (textContent).
//
// The wheel: ?wheel=URL, by default rawdicom-0.1.0-py3-none-any.whl beside this page
// (`pip wheel . --no-deps -w examples/browser`).  Pyodide: ?pyodide=URL of its folder.
const params = new URLSearchParams(location.search);
const PYODIDE_URL = new URL(params.get("pyodide") ?? "../../tests/wasm/node_modules/pyodide/",
  location.href).href;
const WHEEL_URL = new URL(params.get("wheel") ?? "rawdicom-0.1.0-py3-none-any.whl",
  location.href).href;

const $ = (sel) => document.querySelector(sel);
const setState = (state, message) => {
  document.body.dataset.state = state;
  $("#status").textContent = message;
};

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function start() {
  const t0 = performance.now();
  const { loadPyodide } = await import(PYODIDE_URL + "pyodide.mjs");
  const pyodide = await loadPyodide({ indexURL: PYODIDE_URL });
  // Install rawdicom: a wheel is a zip file; unpack it into site-packages.
  pyodide.unpackArchive(await fetchBytes(WHEEL_URL), "wheel");
  pyodide.FS.writeFile("/home/pyodide/viewer.py", await fetchBytes("viewer.py"));
  const describe = pyodide.runPython(`
import sys
sys.path.insert(0, "/home/pyodide")
import viewer
lambda data, name: viewer.describe(data.to_bytes(), name)  # data: a JS Uint8Array
`);
  const version = pyodide.runPython("import rawdicom; rawdicom.__version__");
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  setState("ready", `Ready: rawdicom ${version} on Pyodide ${pyodide.version}. ` +
    "Pick a DICOM file.");
  $("#timing").textContent = `Loaded in ${seconds} s.`;
  const input = $("#file");
  input.disabled = false;
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    setState("reading", `Reading ${file.name}…`);
    $("#timing").textContent = "";
    const data = new Uint8Array(await file.arrayBuffer());
    const t1 = performance.now();
    let result;
    try {
      result = JSON.parse(describe(data, file.name));
    } catch (err) {  // a bug, not bad input: rawdicom reports bad input as a DicomError
      setState("error", `${file.name}: ${err.message ?? err}`);
      return;
    }
    show(result, performance.now() - t1);
  });
}

function show(result, ms) {
  const summary = $("#summary");
  const tbody = $("#listing tbody");
  summary.replaceChildren();
  tbody.replaceChildren();
  if (result.error) {
    summary.hidden = true;
    $("#listing").hidden = true;
    setState("error", `${result.name}: not read: ${result.error}`);
    return;
  }
  for (const [key, value] of Object.entries(result.summary)) {
    const dt = document.createElement("dt");
    dt.textContent = key;
    const dd = document.createElement("dd");
    dd.textContent = value;
    summary.append(dt, dd);
  }
  for (const row of result.rows) {
    const tr = document.createElement("tr");
    if (row.tag === "(FFFE,E000)") tr.className = "item";
    if (row.error) tr.className = "error";
    for (const key of ["tag", "vr", "name", "value"]) {
      const td = document.createElement("td");
      td.className = key;
      td.textContent = row[key];
      if (key === "tag") td.style.paddingLeft = `${0.6 + 1.5 * row.depth}rem`;
      tr.append(td);
    }
    tbody.append(tr);
  }
  summary.hidden = false;
  $("#listing").hidden = false;
  const warned = result.warnings.length ? `, ${result.warnings.length} warning(s)` : "";
  setState("done", `${result.name}: ${result.elements} elements${warned}.`);
  $("#timing").textContent = `Read in ${ms.toFixed(0)} ms.`;
}

start().catch((err) => {
  console.error(err);
  setState("error", `Could not start: ${err.message ?? err}`);
});
