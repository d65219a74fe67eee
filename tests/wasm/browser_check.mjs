// Open examples/browser/ in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core: no browser download), feed it a DICOM file and report what the page shows.
//
//   node tests/wasm/browser_check.mjs URL SCREENSHOT.png FILE...
//
// Picks each FILE in turn with the page's file input; the screenshot (whole page) is taken
// after the first.  Prints one JSON object: {ready_s, files: [{file, state, status, summary:
// {key: value}, rows: [[depth, tag, vr, name, value]...], read_s}...], requests: [every URL the
// page asked for], console: [...]}.  CHROMIUM (env) names the browser, /usr/bin/chromium by
// default.
import { chromium } from "playwright-core";

const [url, screenshot, ...files] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!url || !screenshot || !files.length) {
  process.stderr.write("usage: node browser_check.mjs URL SCREENSHOT.png FILE...\n");
  process.exit(2);
}

const t0 = performance.now();
const browser = await chromium.launch({
  executablePath,
  headless: true,
  // The machine has no network: keep Chromium from trying to reach anything by itself.
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
const result = { requests: [], console: [], files: [] };
const pageState = () => ({
  state: document.body.dataset.state,
  status: document.querySelector("#status").textContent,
  summary: document.querySelector("#summary").hidden ? {} : Object.fromEntries(
    [...document.querySelectorAll("#summary dt")].map(
      (dt) => [dt.textContent, dt.nextElementSibling.textContent])),
  rows: document.querySelector("#listing").hidden ? [] :
    [...document.querySelectorAll("#listing tbody tr")].map((tr) => {
      const cells = [...tr.children].map((td) => td.textContent);
      const indent = parseFloat(tr.children[0].style.paddingLeft) || 0.6;
      return [Math.round((indent - 0.6) / 1.5), ...cells];
    }),
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
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
    for (const [i, file] of files.entries()) {
      const t1 = performance.now();
      await page.evaluate(() => { document.body.dataset.state = "picking"; });
      await page.setInputFiles("#file", file);
      await page.waitForFunction(
        () => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 60_000 });
      const shown = await page.evaluate(pageState);
      result.files.push({ file, read_s: (performance.now() - t1) / 1000, ...shown });
      // Timings hidden: the same page gives the same picture (no churn in the committed one).
      if (i === 0) {
        await page.screenshot({ path: screenshot, fullPage: true, style: "#timing { display: none }" });
      }
    }
  } else {
    await page.screenshot({ path: screenshot, fullPage: true });
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + "\n");
