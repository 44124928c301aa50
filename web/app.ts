/// <reference lib="dom" />
/**
 * The analyzer page: choose or drop weight files, pick `deno task analyze`'s options, and get the
 * per-layer table (sortable, the CLI's columns), the summary, the alpha chart, each layer's ESD
 * (click a row), and the JSON and CSV the CLI writes. The analysis runs in a worker (`worker.ts`)
 * on this machine's GPU; Cancel terminates it.
 * @module
 */
import type { LayerRow } from "../esd/metrics.ts";
import { alphaPlot, esdPlot } from "../report/plots.ts";
import { formatCsv, formatSummary, TABLE_COLUMNS } from "../report/table.ts";
import type { Job } from "./worker.ts";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

interface Result {
  file: string;
  layers: LayerRow[];
  summary: Record<string, number | null>;
  evals: Float64Array[];
  seconds: number;
  timings: Record<string, number>;
}

let files: File[] = [];
let worker: Worker | null = null;
let result: Result | null = null;
let sortKey = -1, sortDir = 1;
let started = 0;

/** What the page exposes to its tests: the last result, errors, and timings. */
const state = { result: null as Result | null, error: "", busy: false, runs: 0 };
(globalThis as unknown as { analyzer: typeof state }).analyzer = state;

function setBusy(busy: boolean) {
  state.busy = busy;
  $<HTMLButtonElement>("run").disabled = busy || files.length === 0;
  $<HTMLButtonElement>("cancel").disabled = !busy;
  $("progress").hidden = !busy;
}

function showError(message: string) {
  state.error = message;
  const el = $("error");
  el.textContent = message;
  el.hidden = !message;
}

function choose(list: FileList | File[]) {
  files = [...list];
  $("chosen").textContent = files.map((f) => `${f.name} (${(f.size / 2 ** 20).toFixed(1)} MiB)`).join(", ");
  setBusy(false);
  showError("");
  $("status").textContent = files.length ? "Ready: press Analyze." : "";
}

function options(): Job["options"] {
  const f = new FormData($<HTMLFormElement>("options"));
  const num = (k: string) => Number(f.get(k));
  return {
    fit: f.get("fit") as Job["options"]["fit"],
    xminPos: num("xminPos"),
    convention: f.get("convention") as "tb" | "ww",
    maxEvals: num("maxEvals"),
    filterZeros: f.get("filterZeros") === "on",
    farms: f.get("farms") === "on" ? { q: num("farmsQ") } : false,
    mpFit: f.get("mpFit") === "on",
    randomize: f.get("randomize") === "on",
    layers: (f.get("layers") as string) || undefined,
  };
}

function run() {
  if (!files.length) return;
  worker?.terminate();
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  result = null;
  state.result = null;
  $("results").hidden = true;
  showError("");
  setBusy(true);
  started = performance.now();
  $("status").textContent = "Reading…";
  $<HTMLProgressElement>("bar").value = 0;
  worker.onmessage = (ev: MessageEvent) => {
    const m = ev.data;
    if (m.type === "adapter") $("adapter").textContent = `Adapter: ${m.description}`;
    else if (m.type === "progress") progress(m.done, m.total, m.current);
    else if (m.type === "error") {
      finish();
      showError(`error: ${m.message}`);
      $("status").textContent = "Stopped on an error; choose another file or change the options.";
    } else if (m.type === "result") {
      finish();
      show(m as Result);
    }
  };
  worker.onerror = (ev: ErrorEvent) => {
    ev.preventDefault();
    finish();
    showError(`error: the analysis worker failed: ${ev.message}`);
  };
  worker.postMessage({ files, options: options() } satisfies Job);
}

function finish() {
  worker?.terminate();
  worker = null;
  state.runs++;
  setBusy(false);
}

function cancel() {
  if (!worker) return;
  finish();
  $("status").textContent = "Cancelled.";
}

function progress(done: number, total: number, current: string | null) {
  $<HTMLProgressElement>("bar").value = total ? done / total : 1;
  const el = (performance.now() - started) / 1000;
  const eta = done > 0 && done < total ? ` · ETA ${Math.round((el / done) * (total - done))} s` : "";
  $("ptext").textContent = `${done}/${total} layers${eta}${current ? ` · ${current}` : ""}`;
  $("status").textContent = "Analysing…";
}

async function show(r: Result) {
  result = r;
  state.result = r;
  $("status").textContent = `${r.file}: ${r.layers.length} layers in ${r.seconds.toFixed(2)} s.`;
  $("summary").textContent = `summary (mean over layers): ${formatSummary(r.summary)}`;
  const json = JSON.stringify({ layers: r.layers, summary: r.summary });
  const link = (id: string, text: string, type: string, name: string) => {
    const a = $<HTMLAnchorElement>(id);
    if (a.href) URL.revokeObjectURL(a.href);
    a.href = URL.createObjectURL(new Blob([text], { type }));
    a.download = name;
  };
  const stem = r.file.replace(/\.[^.]*$/, "");
  link("json", json + "\n", "application/json", `${stem}.analysis.json`);
  link("csv", formatCsv(r), "text/csv", `${stem}.analysis.csv`);
  sortKey = -1;
  table();
  $("results").hidden = false;
  $("alpha").innerHTML = await alphaPlot(r.layers);
  const first = r.layers.findIndex((_, i) => r.evals[i]?.length);
  if (first >= 0) await esd(first);
}

function table() {
  const r = result!;
  const head = $("table").querySelector("thead")!, body = $("table").querySelector("tbody")!;
  head.innerHTML = "";
  const tr = document.createElement("tr");
  TABLE_COLUMNS.forEach(([name], k) => {
    const th = document.createElement("th");
    th.textContent = name;
    if (k === sortKey) th.className = sortDir > 0 ? "asc" : "desc";
    th.onclick = () => {
      sortDir = sortKey === k ? -sortDir : 1;
      sortKey = k;
      table();
    };
    tr.append(th);
  });
  head.append(tr);
  const order = r.layers.map((_, i) => i);
  if (sortKey >= 0) {
    const name = TABLE_COLUMNS[sortKey][0];
    const key = (i: number): number | string => {
      const row = r.layers[i] as unknown as Record<string, unknown>;
      const v = name === "shape" ? r.layers[i].shape.reduce((p, d) => p * d, 1) : row[name];
      return typeof v === "number" ? v : typeof v === "string" ? v : -Infinity;
    };
    order.sort((a, b) => {
      const x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : a - b) * sortDir;
    });
  }
  body.innerHTML = "";
  for (const i of order) {
    const row = document.createElement("tr");
    row.dataset.layer = String(i);
    for (const [, f] of TABLE_COLUMNS) {
      const td = document.createElement("td");
      td.textContent = f(r.layers[i]);
      row.append(td);
    }
    row.onclick = () => esd(i);
    body.append(row);
  }
}

async function esd(i: number) {
  const r = result!;
  for (const tr of $("table").querySelectorAll("tbody tr")) {
    tr.classList.toggle("sel", (tr as HTMLElement).dataset.layer === String(i));
  }
  const fig = $("esd");
  if (!r.evals[i]?.length) {
    fig.innerHTML = `<figcaption class="muted">${r.layers[i].name}: no eigenvalues (${
      r.layers[i].warning
    })</figcaption>`;
    return;
  }
  fig.innerHTML = await esdPlot(r.layers[i], r.evals[i]);
}

async function probe() {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const none = (why: string) => {
    $("adapter").textContent = "";
    showError(
      `This browser gives no WebGPU adapter (${why}). Use a current Chrome, Edge or Opera (113+); in Chromium on ` +
        "Linux, or for a software adapter, start it with --enable-unsafe-webgpu (chrome://flags/#enable-unsafe-webgpu); " +
        "Firefox: set dom.webgpu.enabled in about:config; Safari: Develop → Feature Flags → WebGPU.",
    );
    $("status").textContent = "";
  };
  if (!gpu) return none("navigator.gpu is missing");
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return none("navigator.gpu.requestAdapter() returned null");
  const i = adapter.info;
  $("adapter").textContent = `Adapter: ${i.description || `${i.vendor} ${i.architecture}`.trim()}${
    i.isFallbackAdapter ? " [software]" : ""
  }`;
}

addEventListener("DOMContentLoaded", () => {
  const input = $<HTMLInputElement>("files"), drop = $("drop");
  input.onchange = () => input.files && choose(input.files);
  drop.ondragover = (e) => {
    e.preventDefault();
    drop.classList.add("over");
  };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer?.files.length) choose(e.dataTransfer.files);
  };
  $("run").onclick = run;
  $("cancel").onclick = cancel;
  probe();
});
