/**
 * Turns the samples of a benchmark run (`run.ts`) into `<name>.json`, a Markdown report
 * `<name>.md` and a hand-written SVG chart. Also runs on its own, to redraw from a saved JSON:
 *
 * ```sh
 * node_modules/.bin/deno run -A scripts/bench/report.ts scripts/bench/results/latest.json
 * ```
 *
 * Ratios are always "ours ÷ peer" of messages per second, taken within one run (the two samples
 * ran minutes apart at most) and then summarized over the runs as median (min–max); above 1 our
 * client is faster.
 *
 * @module
 */

/** A runtime of the matrix. */
export type RuntimeId = "node20" | "node22" | "node24" | "deno" | "bun";
/** A client implementation (see client.ts). */
export type Impl = "rom" | "ws" | "wsshim" | "native" | "raw";

/** One workload of the matrix. */
export interface WorkloadDef {
  id: string;
  /** `feed`: the server pushes JSON events and the client only receives (client.ts). */
  kind: "pipe" | "pingpong" | "feed" | "idle";
  size: number;
  binary: boolean;
  compress: boolean;
  /**
   * With `compress`: ours and `ws` send uncompressed (client.ts `--send-plain`), as the built-in
   * clients of Bun and Node.js always do; only the server's messages are compressed.
   */
  sendPlain?: boolean;
  window: number;
  warmup: number;
  seconds: number;
  conns?: number;
  /** Text made as applications make it (client.ts `--shape`): `json` or `repeat`. */
  shape?: "json" | "repeat";
  /** rom receives with `for await` and sends with `await send()` (client.ts `--iterate`). */
  iterate?: boolean;
  /** rom imports the TypeScript source (as JSR users do), not the bundle; Deno and Bun only. */
  source?: boolean;
  /** Run this workload in the first `runs` runs only (the 10,000-connection one: once). */
  runs?: number;
}

/** One client process's result. */
export interface Sample {
  run: number;
  runtime: RuntimeId;
  impl: Impl;
  workload: string;
  ok: boolean;
  // deno-lint-ignore no-explicit-any
  result?: Record<string, any>;
  error?: string;
  /** Wall time of the process, seconds. */
  wall?: number;
  /** CPU of the echo server while the client ran, in cores. */
  serverCpu?: number;
  /** Messages the server failed to send so far (must stay 0). */
  serverDropped?: number;
}

/** Where the numbers come from. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  loadAverage: number[];
  server: string;
  ws: string;
  commit: string;
  uncommittedSourceFiles: number;
  /** SHA-256 (first 12 hex digits) of the client bundle every sample ran. */
  clientDigest?: string;
}

/** A runtime and its version. */
export interface RuntimeInfo {
  id: RuntimeId;
  name: string;
  version: string;
  impls: Impl[];
}

/** Everything `run.ts` writes to `<name>.json`. */
export interface BenchResults {
  version: 1;
  date: string;
  durationSeconds: number;
  options: { quick: boolean; runs: number; pin: boolean; only: string[] };
  machine: Machine;
  runtimes: RuntimeInfo[];
  workloads: WorkloadDef[];
  samples: Sample[];
}

// -------------------------------------------------------------------------------------------------
// Statistics.

interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

function summarize(values: number[]): Summary | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], n: v.length };
}

const IMPL_NAMES: Record<Impl, string> = {
  rom: "ours",
  ws: "ws",
  wsshim: "ws shim",
  native: "built-in",
  raw: "raw TCP",
};

class Index {
  readonly results: BenchResults;
  readonly #byKey = new Map<string, Sample[]>();

  constructor(results: BenchResults) {
    this.results = results;
    for (const s of results.samples) {
      const key = `${s.workload}|${s.runtime}|${s.impl}`;
      const list = this.#byKey.get(key) ?? [];
      list.push(s);
      this.#byKey.set(key, list);
    }
  }

  samples(workload: string, runtime: RuntimeId, impl: Impl): Sample[] {
    return this.#byKey.get(`${workload}|${runtime}|${impl}`) ?? [];
  }

  metric(workload: string, runtime: RuntimeId, impl: Impl, name: string): Summary | undefined {
    return summarize(
      this.samples(workload, runtime, impl).filter((s) => s.ok).map((s) => Number(s.result![name])),
    );
  }

  failures(workload: string, runtime: RuntimeId, impl: Impl): number {
    return this.samples(workload, runtime, impl).filter((s) => !s.ok).length;
  }

  /** Ours ÷ peer of `name`, paired by run. */
  ratio(workload: string, runtime: RuntimeId, peer: Impl, name = "msgsPerSec") {
    const ours = new Map<number, number>();
    for (const s of this.samples(workload, runtime, "rom")) {
      if (s.ok) ours.set(s.run, Number(s.result![name]));
    }
    const ratios: number[] = [];
    for (const s of this.samples(workload, runtime, peer)) {
      const o = ours.get(s.run);
      if (s.ok && o !== undefined) ratios.push(o / Number(s.result![name]));
    }
    return summarize(ratios);
  }

  /** The other client (not ours, not raw) with the highest median messages/s. */
  fastestOther(workload: string, runtime: RuntimeId): Impl | undefined {
    let best: Impl | undefined;
    let bestValue = -1;
    for (const impl of ["ws", "wsshim", "native"] as Impl[]) {
      const m = this.metric(workload, runtime, impl, "msgsPerSec");
      if (m && m.median > bestValue) {
        best = impl;
        bestValue = m.median;
      }
    }
    return best;
  }

  serverBound(workload: string, runtime: RuntimeId, impl: Impl): boolean {
    const cpu = summarize(this.samples(workload, runtime, impl).map((s) => s.serverCpu ?? NaN));
    return cpu !== undefined && cpu.median > 0.8;
  }
}

// -------------------------------------------------------------------------------------------------
// Formatting.

function rate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(0)}k`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  if (x >= 100) return x.toFixed(0);
  return x.toFixed(1);
}

function ratioText(s: Summary | undefined): string {
  if (!s) return "–";
  const bold = s.median >= 1 ? `**${s.median.toFixed(2)}**` : s.median.toFixed(2);
  return s.n > 1 ? `${bold} (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : bold;
}

function bytes(x: number): string {
  const sign = x < 0 ? "−" : "";
  const a = Math.abs(x);
  if (a >= 1024 * 1024) return `${sign}${(a / 1024 / 1024).toFixed(1)} MiB`;
  if (a >= 1024) return `${sign}${(a / 1024).toFixed(1)} KiB`;
  return `${sign}${a.toFixed(0)} B`;
}

function sizeText(size: number): string {
  if (size >= 1024 * 1024) return `${size / 1024 / 1024} MiB`;
  if (size >= 1024) return `${size / 1024} KiB`;
  return `${size} B`;
}

function workloadText(w: WorkloadDef): string {
  if (w.kind === "idle") return `${w.conns} idle connections`;
  if (w.kind === "feed") {
    return `${sizeText(w.size)} JSON events pushed by the server, JSON.parse each (a feed)${
      w.compress ? ", permessage-deflate" : ""
    }`;
  }
  const what = w.kind === "pipe" ? `pipelined (${w.window} in flight)` : "ping-pong";
  const text = w.shape === "json"
    ? "JSON text (JSON.stringify, JSON.parse)"
    : w.shape === "repeat"
    ? "text from repeat()"
    : "text";
  return `${sizeText(w.size)} ${w.binary ? "binary" : text} ${what}${
    w.compress
      ? w.sendPlain
        ? ", permessage-deflate, clients send uncompressed (as built-ins do)"
        : ", permessage-deflate"
      : ""
  }${w.iterate ? ", rom: await send() + for await" : ""}${
    w.source ? ", rom: TypeScript source" : ""
  }`;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

// -------------------------------------------------------------------------------------------------
// Markdown.

/** The Markdown report. */
export function renderMarkdown(results: BenchResults): string {
  const ix = new Index(results);
  const m = results.machine;
  const runtimes = results.runtimes;
  const echo = results.workloads.filter((w) => w.kind !== "idle" && !w.compress);
  const deflate = results.workloads.filter((w) => w.compress);
  const idle = results.workloads.filter((w) => w.kind === "idle");
  const out: string[] = [];
  const failed = results.samples.filter((s) => !s.ok);
  const dropped = Math.max(0, ...results.samples.map((s) => s.serverDropped ?? 0));

  out.push(`# rom-websocket benchmark${results.options.quick ? " (quick)" : ""}`);
  out.push("");
  out.push(
    `${results.date.slice(0, 16).replace("T", " ")} UTC, ${results.options.runs} run(s), ` +
      `${results.samples.length} samples in ${Math.round(results.durationSeconds / 60)} min` +
      (failed.length ? `, **${failed.length} failed**` : "") +
      `. Echo server: ${m.server}; messages dropped by the server: ${dropped}.`,
  );
  out.push("");
  out.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}; load average ` +
      `at the end ${m.loadAverage.map((x) => x.toFixed(1)).join(" / ")} (the machine is shared: ` +
      `compare ratios within this run, not absolute numbers across runs). Commit ${m.commit}` +
      (m.uncommittedSourceFiles ? ` + ${m.uncommittedSourceFiles} uncommitted source files` : "") +
      (m.clientDigest ? ` (client bundle sha256 ${m.clientDigest})` : "") +
      `. ws ${m.ws} (without bufferutil).`,
  );
  out.push("");
  out.push(
    "Runtimes: " + runtimes.map((r) => `${r.name} = ${r.version}`).join("; ") + ".",
  );
  out.push("");
  out.push(
    "How to read: **ours ÷ peer** is the ratio of messages per second of this client to the " +
      "peer on the same runtime, paired within a run; median of the runs (min–max). Above 1 " +
      "(bold) ours is faster. *fastest other* is the faster of `ws` and the runtime's built-in " +
      "`WebSocket`; *raw TCP* writes precomputed frames and only parses echoed headers (the " +
      "ceiling). Each sample is a fresh process: warm-up, then messages/s measured between the " +
      "first and last echo of the period; every echo is checked (type, length, sequence number; " +
      "every 16th in full). † marks a median where the echo server used over 80% of a core.",
  );
  out.push("");

  // Summary: ours ÷ fastest other, per runtime.
  out.push("## Summary: ours ÷ fastest other client on the same runtime");
  out.push("");
  out.push(table(
    ["workload", ...runtimes.map((r) => r.name)],
    [...echo, ...deflate].map((w) => [
      workloadText(w),
      ...runtimes.map((r) => {
        const best = ix.fastestOther(w.id, r.id);
        return best ? `${ratioText(ix.ratio(w.id, r.id, best))} ${IMPL_NAMES[best]}` : "–";
      }),
    ]),
  ));
  out.push("");
  out.push("## Summary: ours ÷ raw TCP ceiling");
  out.push("");
  out.push(table(
    ["workload", ...runtimes.map((r) => r.name)],
    echo.filter((w) => w.kind !== "feed").map((w) => [
      workloadText(w),
      ...runtimes.map((r) => {
        const rawId = w.binary ? w.id : w.id.replace("-text-", "-bin-");
        const ours = ix.samples(w.id, r.id, "rom");
        const raw = new Map(
          ix.samples(rawId, r.id, "raw").filter((s) => s.ok).map((
            s,
          ) => [s.run, Number(s.result!.msgsPerSec)]),
        );
        const ratios = ours.filter((s) => s.ok && raw.has(s.run)).map((s) =>
          Number(s.result!.msgsPerSec) / raw.get(s.run)!
        );
        return ratioText(summarize(ratios)) + (w.binary ? "" : " (vs binary)");
      }),
    ]),
  ));
  out.push("");

  // Per runtime.
  for (const r of runtimes) {
    out.push(`## ${r.name} (${r.version})`);
    out.push("");
    const impls = r.impls;
    const header = [
      "workload",
      ...impls.map((i) => `${IMPL_NAMES[i]} msg/s`),
      "ours ÷ fastest other",
      ...(impls.includes("ws") ? ["ours ÷ ws"] : []),
      ...(impls.includes("native") ? ["ours ÷ built-in"] : []),
      "ours ÷ raw",
    ];
    const rows = echo.map((w) => {
      const cells = [workloadText(w)];
      for (const impl of impls) {
        const v = ix.metric(w.id, r.id, impl, "msgsPerSec");
        const mb = ix.metric(w.id, r.id, impl, "mbPerSec");
        const fails = ix.failures(w.id, r.id, impl);
        let cell = v ? rate(v.median) : "–";
        if (v && w.size >= 64 * 1024) cell += ` (${mb!.median.toFixed(0)} MB/s)`;
        if (v && ix.serverBound(w.id, r.id, impl)) cell += " †";
        if (fails) cell += ` (${fails} failed)`;
        cells.push(cell);
      }
      const best = ix.fastestOther(w.id, r.id);
      cells.push(best ? `${ratioText(ix.ratio(w.id, r.id, best))} ${IMPL_NAMES[best]}` : "–");
      if (impls.includes("ws")) cells.push(ratioText(ix.ratio(w.id, r.id, "ws")));
      if (impls.includes("native")) cells.push(ratioText(ix.ratio(w.id, r.id, "native")));
      cells.push(w.binary ? ratioText(ix.ratio(w.id, r.id, "raw")) : "–");
      return cells;
    });
    out.push(table(header, rows));
    out.push("");
    const pings = echo.filter((w) => w.kind === "pingpong");
    if (pings.length > 0) {
      out.push(
        "Round-trip time, p50 / p99 in µs (median over runs). Where raw TCP's p50 is as high " +
          "as the clients', the time is the machine's (scheduling and wake-up of idle vCPUs), " +
          "not the client's:",
      );
      out.push("");
      out.push(table(
        ["workload", ...impls.map((i) => IMPL_NAMES[i])],
        pings.map((w) => [
          workloadText(w),
          ...impls.map((impl) => {
            const p50 = ix.metric(w.id, r.id, impl, "p50Us");
            const p99 = ix.metric(w.id, r.id, impl, "p99Us");
            return p50 && p99 ? `${p50.median.toFixed(0)} / ${p99.median.toFixed(0)}` : "–";
          }),
        ]),
      ));
      out.push("");
    }
    out.push(`Client CPU per message, µs (median; lower is better):`);
    out.push("");
    out.push(table(
      ["workload", ...impls.map((i) => IMPL_NAMES[i])],
      echo.filter((w) => w.kind === "pipe" || w.kind === "feed").map((w) => [
        workloadText(w),
        ...impls.map((impl) => {
          const c = ix.metric(w.id, r.id, impl, "cpuUsPerMsg");
          return c ? (c.median >= 100 ? c.median.toFixed(0) : c.median.toFixed(1)) : "–";
        }),
      ]),
    ));
    out.push("");
  }

  // Compression.
  for (const w of deflate) {
    out.push(`## ${workloadText(w)}`);
    out.push("");
    out.push(
      "Deno's built-in `WebSocket` has no permessage-deflate (n/a). The negotiated extension " +
        "is shown as the server answered it. " +
        (w.kind === "feed"
          ? "Nothing is sent: the server compresses every event and the clients only inflate " +
            "and parse them, the same work for all."
          : "The built-in clients of Bun and Node.js negotiate it but send every message " +
            "uncompressed (RSV1 clear: they only inflate), where ours and `ws` compress what " +
            "they send from 1 KiB up" +
            (w.sendPlain
              ? "; in this workload ours and `ws` send uncompressed too (`compression: { " +
                "threshold: Infinity }`), the same work as the built-ins."
              : "; the workload below gives all clients the same work.")),
    );
    out.push("");
    const impls: Impl[] = ["rom", "ws", "native"];
    out.push(table(
      [
        "runtime",
        ...impls.map((i) => `${IMPL_NAMES[i]} msg/s`),
        "ours ÷ ws",
        "ours ÷ built-in",
        "ours uncompressed msg/s",
        "ours negotiated",
      ],
      runtimes.map((r) => {
        const plain = results.workloads.find((x) =>
          !x.compress && x.kind === w.kind && x.size === w.size && x.binary === w.binary
        );
        const ext = ix.samples(w.id, r.id, "rom").find((s) => s.ok)?.result?.extensions ?? "";
        return [
          r.name,
          ...impls.map((impl) => {
            if (!r.impls.includes(impl)) return "–";
            if (impl === "native" && r.id === "deno") return "n/a";
            const v = ix.metric(w.id, r.id, impl, "msgsPerSec");
            const fails = ix.failures(w.id, r.id, impl);
            return (v ? rate(v.median) : "–") + (fails ? ` (${fails} failed)` : "");
          }),
          ratioText(ix.ratio(w.id, r.id, "ws")),
          r.id === "deno" ? "n/a" : ratioText(ix.ratio(w.id, r.id, "native")),
          plain ? rate(ix.metric(plain.id, r.id, "rom", "msgsPerSec")?.median ?? NaN) : "–",
          `\`${ext}\``,
        ];
      }),
    ));
    out.push("");
  }

  // Memory.
  for (const w of idle) {
    out.push(`## Memory per idle connection (${w.conns} connections)`);
    out.push("");
    out.push(
      "Growth of the JS heap (`heapUsed`, GC forced) and of the process RSS after opening the " +
        "connections, divided by their number. Built-in clients keep most of their state " +
        "outside the JS heap (see RSS); Bun's `heapUsed` is JavaScriptCore's heap. Connect " +
        "rate: handshakes per second while opening them, 50 at a time.",
    );
    out.push("");
    const impls: Impl[] = ["rom", "ws", "native"];
    const cell = (r: RuntimeInfo, impl: Impl, name: string) => {
      if (!r.impls.includes(impl)) return "–";
      const v = ix.metric(w.id, r.id, impl, name);
      return v ? bytes(v.median) : "–";
    };
    out.push(table(
      [
        "runtime",
        ...impls.map((i) => `${IMPL_NAMES[i]} heap`),
        ...impls.map((i) => `${IMPL_NAMES[i]} RSS`),
        "ours external",
        ...impls.map((i) => `${IMPL_NAMES[i]} connects/s`),
      ],
      runtimes.map((r) => [
        r.name,
        ...impls.map((i) => cell(r, i, "heapPerConn")),
        ...impls.map((i) => cell(r, i, "rssPerConn")),
        cell(r, "rom", "externalPerConn"),
        ...impls.map((i) => {
          if (!r.impls.includes(i)) return "–";
          const v = ix.metric(w.id, r.id, i, "connectsPerSec");
          return v ? Math.round(v.median).toLocaleString("en-US") : "–";
        }),
      ]),
    ));
    out.push("");
  }

  if (failed.length > 0) {
    out.push("## Failed samples");
    out.push("");
    for (const s of failed.slice(0, 40)) {
      out.push(
        `- run ${s.run + 1} ${s.workload} ${s.runtime}/${s.impl}: ` +
          `${(s.error ?? "").split("\n")[0].slice(0, 200)}`,
      );
    }
    out.push("");
  }
  out.push("![ours ÷ fastest other client](chart.svg)");
  out.push("");
  return out.join("\n");
}

// -------------------------------------------------------------------------------------------------
// SVG chart.

const COLORS: Record<RuntimeId, string> = {
  node20: "#8fbf5a",
  node22: "#4e9a3a",
  node24: "#2d6a26",
  deno: "#3a6ea5",
  bun: "#d08a3c",
};

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Grouped bars, one panel per kind of workload (pipelined binary, pipelined text, ping-pong
 * binary): for each message size a bar per runtime with ours ÷ fastest other client, on a log
 * scale with 1 (parity) marked.
 */
export function renderSvg(results: BenchResults): string {
  const ix = new Index(results);
  const runtimes = results.runtimes;
  const panels = [
    { title: "Pipelined, binary", filter: (w: WorkloadDef) => w.kind === "pipe" && w.binary },
    {
      title: "Pipelined, text",
      filter: (w: WorkloadDef) => w.kind === "pipe" && !w.binary && !w.compress,
    },
    { title: "Ping-pong, binary", filter: (w: WorkloadDef) => w.kind === "pingpong" && w.binary },
  ].map((p) => ({ ...p, workloads: results.workloads.filter(p.filter) }))
    .filter((p) => p.workloads.length > 0);

  const values = panels.flatMap((p) =>
    p.workloads.flatMap((w) =>
      runtimes.map((r) => {
        const best = ix.fastestOther(w.id, r.id);
        return best ? ix.ratio(w.id, r.id, best)?.median ?? NaN : NaN;
      })
    )
  ).filter((x) => Number.isFinite(x) && x > 0);
  const lo = Math.min(0.25, 2 ** Math.floor(Math.log2(Math.min(...values, 1))));
  const hi = Math.max(4, 2 ** Math.ceil(Math.log2(Math.max(...values, 1))));

  const width = 980;
  const panelHeight = 250;
  const top = 90;
  const left = 60;
  const plotWidth = width - left - 20;
  const height = top + panels.length * (panelHeight + 40) + 30;
  const y = (v: number, y0: number) =>
    y0 + panelHeight * (1 - (Math.log2(v) - Math.log2(lo)) / (Math.log2(hi) - Math.log2(lo)));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(
    `<text x="${left}" y="24" font-size="16" font-weight="bold">rom-websocket messages/s ÷ ` +
      `the fastest other client on the same runtime</text>`,
  );
  parts.push(
    `<text x="${left}" y="42" fill="#555">Peer: ws or the built-in WebSocket, whichever is ` +
      `faster. Median of ${results.options.runs} paired run(s), whiskers min–max, log scale; ` +
      `above 1 = ours faster.</text>`,
  );
  parts.push(
    `<text x="${left}" y="58" fill="#555">${escapeXml(results.machine.cpu)}, ` +
      `${results.machine.cores} cores, shared; ${results.date.slice(0, 10)}; echo server ` +
      `${escapeXml(results.machine.server)}.</text>`,
  );
  // Legend.
  runtimes.forEach((r, i) => {
    const x = left + i * 150;
    parts.push(`<rect x="${x}" y="68" width="12" height="12" fill="${COLORS[r.id]}"/>`);
    parts.push(`<text x="${x + 17}" y="78">${escapeXml(r.version.split(" (")[0])}</text>`);
  });

  panels.forEach((panel, pi) => {
    const y0 = top + 20 + pi * (panelHeight + 40);
    parts.push(
      `<text x="${left}" y="${y0 - 6}" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
    // Grid lines at powers of two.
    for (let v = lo; v <= hi + 1e-9; v *= 2) {
      const yy = y(v, y0).toFixed(1);
      const parity = Math.abs(v - 1) < 1e-9;
      parts.push(
        `<line x1="${left}" x2="${left + plotWidth}" y1="${yy}" y2="${yy}" ` +
          `stroke="${parity ? "#000" : "#ddd"}" stroke-width="${parity ? 1.5 : 1}"/>`,
      );
      const label = v >= 1 ? `${v}×` : `1/${1 / v}`;
      parts.push(
        `<text x="${left - 6}" y="${Number(yy) + 4}" text-anchor="end" fill="#555">${label}</text>`,
      );
    }
    const groups = panel.workloads.length;
    const groupWidth = plotWidth / groups;
    const barWidth = Math.min(28, (groupWidth - 20) / runtimes.length);
    panel.workloads.forEach((w, gi) => {
      const gx = left + gi * groupWidth + (groupWidth - barWidth * runtimes.length) / 2;
      runtimes.forEach((r, ri) => {
        const best = ix.fastestOther(w.id, r.id);
        const s = best ? ix.ratio(w.id, r.id, best) : undefined;
        const x = gx + ri * barWidth;
        if (!s) {
          parts.push(
            `<text x="${x + barWidth / 2}" y="${
              y(1, y0) - 4
            }" text-anchor="middle" fill="#999" font-size="10">n/a</text>`,
          );
          return;
        }
        const v = Math.max(lo, Math.min(hi, s.median));
        const y1 = y(1, y0);
        const yv = y(v, y0);
        const yTop = Math.min(y1, yv);
        const h = Math.max(1, Math.abs(y1 - yv));
        parts.push(
          `<rect x="${(x + 1).toFixed(1)}" y="${yTop.toFixed(1)}" width="${
            (barWidth - 2).toFixed(1)
          }" height="${h.toFixed(1)}" fill="${COLORS[r.id]}">` +
            `<title>${
              escapeXml(
                `${r.name} ${workloadText(w)}: ours ÷ ${IMPL_NAMES[best!]} = ${
                  s.median.toFixed(2)
                } (${s.min.toFixed(2)}–${s.max.toFixed(2)})`,
              )
            }</title></rect>`,
        );
        // Min–max whisker.
        const ya = y(Math.max(lo, Math.min(hi, s.min)), y0);
        const yb = y(Math.max(lo, Math.min(hi, s.max)), y0);
        const cx = (x + barWidth / 2).toFixed(1);
        parts.push(
          `<line x1="${cx}" x2="${cx}" y1="${ya.toFixed(1)}" y2="${yb.toFixed(1)}" ` +
            `stroke="#333" stroke-width="1"/>`,
        );
        const labelY = s.median >= 1 ? Math.min(yTop, yb) - 3 : Math.max(yTop + h, ya) + 10;
        parts.push(
          `<text x="${cx}" y="${labelY.toFixed(1)}" text-anchor="middle" font-size="9">${
            s.median.toFixed(2)
          }</text>`,
        );
      });
      parts.push(
        `<text x="${(left + gi * groupWidth + groupWidth / 2).toFixed(1)}" y="${
          y0 + panelHeight + 16
        }" text-anchor="middle">${sizeText(w.size)}</text>`,
      );
    });
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

// -------------------------------------------------------------------------------------------------

/** Writes `<name>.json`, `<name>.md` and the chart into `dir`; returns the paths. */
export async function writeReports(
  results: BenchResults,
  dir: string,
  name: string,
): Promise<string[]> {
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  const chart = name === "latest" ? "chart.svg" : `${name}-chart.svg`;
  const paths = [`${base}${name}.json`, `${base}${name}.md`, `${base}${chart}`];
  // Numbers to 5 significant digits: the measurements are not more precise than that.
  const round = (_: string, v: unknown) =>
    typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(5)) : v;
  await Deno.writeTextFile(paths[0], JSON.stringify(results, round, 2) + "\n");
  await Deno.writeTextFile(
    paths[1],
    renderMarkdown(results).replace("](chart.svg)", `](${chart})`),
  );
  await Deno.writeTextFile(paths[2], renderSvg(results));
  // Leave the files as `deno fmt` wants them (the repository's formatter covers results/ too).
  const config = decodeURIComponent(new URL("../../deno.json", import.meta.url).pathname);
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", `--config=${config}`, ...paths],
    stdout: "null",
  }).output();
  return paths;
}

if (import.meta.main) {
  const path = Deno.args[0] ?? decodeURIComponent(
    new URL("results/latest.json", import.meta.url).pathname,
  );
  const results = JSON.parse(await Deno.readTextFile(path)) as BenchResults;
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const name = path.slice(dir.length).replace(/\.json$/, "");
  console.log((await writeReports(results, dir, name)).join("\n"));
}
