// Run rawdicom under Pyodide (CPython compiled to WebAssembly) in Node, with no network.
//
//   node tests/wasm/run_pyodide.mjs --wheel dist/rawdicom-0.1.0-py3-none-any.whl [--repeat N] PATH...
//
// Pyodide comes from node_modules (the npm package carries the interpreter and its standard
// library); the rawdicom wheel is unpacked into Pyodide's site-packages; every PATH (a file or
// a directory, read recursively) is mounted into Pyodide's file system with NODEFS, and
// canonical.py, the same module the test runs with CPython, prints one JSON line per file and a
// summary line with timings.  A last line {"node": true, ...} gives the figures measured here.
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(message) {
  if (message) process.stderr.write(`run_pyodide: ${message}\n`);
  process.stderr.write(
    "usage: node run_pyodide.mjs --wheel RAWDICOM.whl [--canonical canonical.py] [--repeat N] PATH...\n");
  process.exit(2);
}

const args = process.argv.slice(2);
let wheel = null;
let canonical = path.join(here, "canonical.py");
let repeat = 0;
const inputs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--wheel") wheel = args[++i];
  else if (args[i] === "--canonical") canonical = args[++i];
  else if (args[i] === "--repeat") repeat = Number(args[++i]);
  else if (args[i] === "-h" || args[i] === "--help") usage();
  else inputs.push(args[i]);
}
if (!wheel) usage("--wheel is required");

const t0 = performance.now();
// No packages are fetched: rawdicom's core needs the standard library only.
const pyodide = await loadPyodide({
  stdout: () => {}, // replaced below by a raw writer
  stderr: (line) => process.stderr.write(line + "\n"),
});
const loadS = (performance.now() - t0) / 1000;

// Raw stdout: Python's bytes go to Node's stdout unchanged.  `buf` is a view into Pyodide's
// memory, reused by the next write, while a write to a pipe completes later: copy it.
pyodide.setStdout({
  write: (buf) => {
    process.stdout.write(Buffer.from(buf));
    return buf.length;
  },
});

// Install the wheel: a wheel is a zip file; unpack it into site-packages.
const t1 = performance.now();
// (a plain Uint8Array: Pyodide does not take a Node Buffer here)
pyodide.unpackArchive(new Uint8Array(readFileSync(wheel)), "wheel");
const installS = (performance.now() - t1) / 1000;

// The canonical listing module, outside site-packages.
pyodide.FS.mkdirTree("/canonical");
pyodide.FS.writeFile("/canonical/canonical.py", readFileSync(canonical, "utf8"));

// Mount each input via NODEFS under its own base name (the listing's keys start with it): a
// directory as /mnt/inN/NAME, a file through its directory, /mnt/inN/DIR/NAME.
const pyPaths = [];
inputs.forEach((input, i) => {
  const abs = path.resolve(input);
  const isDir = statSync(abs).isDirectory();
  const dir = isDir ? abs : path.dirname(abs);
  const mountPoint = `/mnt/in${i}/${path.basename(dir) || "root"}`;
  pyodide.FS.mkdirTree(mountPoint);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: dir }, mountPoint);
  pyPaths.push(isDir ? mountPoint : `${mountPoint}/${path.basename(abs)}`);
});

let rc;
try {
  const pyArgs = repeat ? ["--repeat", String(repeat), ...pyPaths] : pyPaths;
  pyodide.globals.set("_rawdicom_args", pyodide.toPy(pyArgs));
  rc = pyodide.runPython(`
import sys
sys.path.insert(0, "/canonical")
import canonical
canonical.main(list(_rawdicom_args))
`);
} catch (err) {
  process.stderr.write(`run_pyodide: Python raised:\n${err.message ?? err}\n`);
  process.exit(1);
}
process.stdout.write(JSON.stringify({
  node: true,
  pyodide_version: pyodide.version,
  pyodide_load_s: loadS,
  wheel_install_s: installS,
  node_version: process.version,
}) + "\n");
process.exitCode = rc ?? 0;
