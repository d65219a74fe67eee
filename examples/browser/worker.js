// The page's Python: Pyodide and rawdicom in a Web Worker, so that reading a large, hostile or
// slow file never blocks the page (the page can also end this worker and start another).
//
// Messages in: {id, op: "init", pyodideUrl, wheelUrl, viewerUrl} | {id, op: "open", files:
// [{name, file}], label} | {id, op: "image", path, frame, window} | {id, op: "window", path,
// frame, center, width, function} | {id, op: "explain", path} | {id, op: "bytes", space,
// start, end}.  Out: {id, ok: true, result, buffers: [Uint8Array...]} or {id, ok: false,
// error}.
// The opened files are mounted read-only (WORKERFS: File objects read on demand).
let pyodide = null;
let viewer = null;
const ROOT = "/data";

async function init({ pyodideUrl, wheelUrl, viewerUrl }) {
  const { loadPyodide } = await import(pyodideUrl + "pyodide.mjs");
  pyodide = await loadPyodide({ indexURL: pyodideUrl });
  const fetchBytes = async (url) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  };
  // Install rawdicom: a wheel is a zip file; unpack it into site-packages.
  pyodide.unpackArchive(await fetchBytes(wheelUrl), "wheel");
  pyodide.FS.writeFile("/home/pyodide/viewer.py", await fetchBytes(viewerUrl));
  viewer = pyodide.runPython(`
import sys
sys.path.insert(0, "/home/pyodide")
import viewer
viewer`);
  viewer.warm_up();
  pyodide.FS.mkdirTree(ROOT);
  return { rawdicom: pyodide.runPython("import rawdicom; rawdicom.__version__"),
    pyodide: pyodide.version };
}

function mount(files) {
  try { pyodide.FS.unmount(ROOT); } catch { /* nothing mounted yet */ }
  pyodide.FS.mount(pyodide.FS.filesystems.WORKERFS,
    { blobs: files.map(({ name, file }) => ({ name, data: file })) }, ROOT);
}

// Python bytes -> a Uint8Array of its own (the buffer can then be transferred).
function copyBytes(proxy) {
  if (proxy === undefined || proxy === null) return null;
  const buffer = proxy.getBuffer("u8");
  try { return buffer.data.slice(); } finally { buffer.release(); proxy.destroy(); }
}

// A Python list of bytes -> Uint8Arrays of their own.
function copyList(proxy) {
  const out = [];
  try {
    for (let i = 0; i < proxy.length; i++) out.push(copyBytes(proxy.get(i)));
  } finally { proxy.destroy(); }
  return out;
}

const ops = {
  init,
  open({ files, label }) {
    mount(files);
    return JSON.parse(viewer.open_folder(ROOT, label));
  },
  image({ path, frame, window }) {
    const pair = viewer.image(path, frame ?? null, window ? JSON.stringify(window) : null);
    try {
      return { result: JSON.parse(pair.get(0)), buffers: copyList(pair.get(1)) };
    } finally { pair.destroy(); }
  },
  // The grey image shown last in another window: rawdicom.window's bytes (none when another
  // image was shown since).
  window({ path, frame, center, width, function: name }) {
    const bytes = copyBytes(viewer.windowed(path, frame ?? null, center, width, name));
    return { result: null, buffers: bytes ? [bytes] : [] };
  },
  explain({ path }) { return JSON.parse(viewer.explained(path)); },
  bytes({ space, start, end }) {
    return { result: null, buffers: [copyBytes(viewer.space_bytes(space, start, end))] };
  },
};

self.onmessage = async ({ data }) => {
  const { id, op } = data;
  try {
    let out = await ops[op](data);
    if (!(out && typeof out === "object" && "buffers" in out)) out = { result: out, buffers: [] };
    self.postMessage({ id, ok: true, result: out.result, buffers: out.buffers },
      out.buffers.map((b) => b.buffer));
  } catch (err) {  // a bug, not bad input: viewer.py reports bad input as a DicomError line
    self.postMessage({ id, ok: false, error: String(err.message ?? err) });
  }
};
