/**
 * The three regimes of training on the sphere, read off a set of fixed-ELR runs: per ELR the final
 * train loss, final test accuracy and mean effective gradient norm over the last quarter of
 * epochs, a regime by a stated rule, and the plots of the paper's Figure 1 (train loss, test error
 * and effective gradient norm per epoch, and the phase diagram of final loss against effective
 * gradient norm), rendered with the analyzer's renderer.
 * Rule (epochs E, last-quarter means; chance = 1/classes):
 * - divergence: the final test accuracy is within 0.05 of chance;
 * - convergence: the train loss is still falling — its mean over the last quarter of epochs is
 *   below 0.9 × its mean over the quarter before (falling by more than 10% a quarter);
 * - chaotic equilibrium: otherwise (the loss has settled on a plateau above 0).
 * Ref: Kodryan et al., NeurIPS 2022 (Figure 1 and §5).
 * @module
 */
import type { EpochMetrics } from "../train/metrics.ts";
import { render } from "./_render.ts";

/** The three regimes. */
export type Regime = "convergence" | "chaotic equilibrium" | "divergence";

/** One ELR's run summarised. */
export interface RegimeRow {
  /** The ELR. */
  elr: number;
  /** Train loss of the last epoch. */
  finalTrainLoss: number;
  /** Test accuracy of the last epoch. */
  finalTestAcc: number;
  /** Mean effective gradient norm over the last quarter of epochs. */
  effGradNorm: number;
  /** The regime by the rule above. */
  regime: Regime;
  /** Why, in one sentence. */
  why: string;
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);

/**
 * Classifies one run.
 * @param elr Its ELR.
 * @param h Its epochs (with `eff_grad_norm`).
 * @param classes Classes (chance = 1/classes).
 * @returns The row.
 */
export function classifyRun(elr: number, h: EpochMetrics[], classes: number): RegimeRow {
  if (!h.length) {
    return {
      elr,
      finalTrainLoss: NaN,
      finalTestAcc: NaN,
      effGradNorm: NaN,
      regime: "divergence",
      why: "the loss became NaN or infinite before the first epoch ended",
    };
  }
  const E = h.length, q = Math.max(1, Math.floor(E / 4));
  const last = h.slice(E - q), before = h.slice(Math.max(0, E - 2 * q), E - q);
  const lossLast = mean(last.map((m) => m.train_loss)), lossBefore = mean(before.map((m) => m.train_loss));
  const fin = h[E - 1], chance = 1 / classes;
  const row = {
    elr,
    finalTrainLoss: fin.train_loss,
    finalTestAcc: fin.test_acc ?? NaN, // the last epoch is always evaluated
    effGradNorm: mean(last.map((m) => m.eff_grad_norm ?? NaN)),
  };
  if (!Number.isFinite(fin.train_loss) || Math.abs(row.finalTestAcc - chance) <= 0.05) {
    return {
      ...row,
      regime: "divergence",
      why: `test accuracy ${(100 * row.finalTestAcc).toFixed(1)}% is at chance (${
        (100 * chance).toFixed(0)
      }%) with train loss ${fin.train_loss.toPrecision(3)}`,
    };
  }
  if (before.length && lossLast < 0.9 * lossBefore) {
    return {
      ...row,
      regime: "convergence",
      why: `the train loss is still falling: last-quarter mean ${lossLast.toPrecision(3)} vs ${
        lossBefore.toPrecision(3)
      } the quarter before`,
    };
  }
  return {
    ...row,
    regime: "chaotic equilibrium",
    why: `the train loss sits on a plateau: last-quarter mean ${lossLast.toPrecision(3)} vs ${
      lossBefore.toPrecision(3)
    } the quarter before, well above 0, with effective gradient norm ${row.effGradNorm.toPrecision(3)}`,
  };
}

/** `regimes.csv`. */
export function regimesCsv(rows: RegimeRow[]): string {
  return [
    "elr,final_train_loss,final_test_acc,eff_grad_norm,regime",
    ...rows.map((r) => [r.elr, r.finalTrainLoss, r.finalTestAcc, r.effGradNorm, r.regime].join(",")),
  ].join("\n") + "\n";
}

/** `regimes.md`: the setting, the rule, one verdict per ELR. */
export function regimesMarkdown(rows: RegimeRow[], title: string): string {
  return [
    `# ${title}`,
    "",
    "| ELR | final train loss | final test acc | eff. grad. norm (last quarter) | regime |",
    "|---:|---:|---:|---:|---|",
    ...rows.map((r) =>
      `| ${r.elr} | ${r.finalTrainLoss.toPrecision(3)} | ${(100 * r.finalTestAcc).toFixed(2)}% | ${
        r.effGradNorm.toPrecision(3)
      } | ${r.regime} |`
    ),
    "",
    "Rule: divergence when the final test accuracy is within 5 points of chance; convergence when the",
    "train loss is still falling (last-quarter mean < 0.9 × the quarter before); otherwise chaotic",
    "equilibrium (a plateau above 0).",
    "",
    ...rows.map((r) => `- ELR ${r.elr}: **${r.regime}** — ${r.why}.`),
    "",
  ].join("\n");
}

/** One ELR's epochs, for the plots. */
export interface RegimeSeries {
  /** The ELR (or fixed rate). */
  elr: number;
  /** Its epochs. */
  h: EpochMetrics[];
}

function lines(
  runs: RegimeSeries[],
  y: (m: EpochMetrics) => number,
  title: string,
  yTitle: string,
  log: boolean,
) {
  const values = runs.flatMap((r) => r.h.map((m) => ({ elr: String(r.elr), epoch: m.epoch, y: y(m) })))
    .filter((v) => Number.isFinite(v.y) && (!log || v.y > 0));
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 480,
    height: 300,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch", axis: { tickMinStep: 1 } },
      y: { field: "y", type: "quantitative", title: yTitle, scale: log ? { type: "log" } : { zero: false } },
      color: { field: "elr", type: "ordinal", title: "ELR", sort: runs.map((r) => String(r.elr)) },
    },
  });
}

/**
 * The four plots.
 * @param runs Each ELR's epochs.
 * @param rows The classification (for the phase diagram's colours).
 * @returns SVG texts.
 */
export async function regimePlots(
  runs: RegimeSeries[],
  rows: RegimeRow[],
): Promise<{ trainLoss: string; testError: string; effGradNorm: string; phase: string }> {
  return {
    trainLoss: await lines(runs, (m) => m.train_loss, "train loss per epoch", "train loss (log)", true),
    testError: await lines(
      runs,
      (m) => (m.test_acc === null ? NaN : 100 * (1 - m.test_acc)),
      "test error per epoch",
      "test error (%)",
      false,
    ),
    effGradNorm: await lines(
      runs,
      (m) => m.eff_grad_norm ?? NaN,
      "effective gradient norm per epoch",
      "‖∇‖·‖w‖ (log)",
      true,
    ),
    phase: await render({
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: "phase diagram: final train loss vs effective gradient norm",
      width: 420,
      height: 320,
      data: {
        values: rows.filter((r) => r.finalTrainLoss > 0 && r.effGradNorm > 0).map((r) => ({
          ...r,
          label: `ELR ${r.elr}`,
        })),
      },
      layer: [
        {
          mark: { type: "point", filled: true, size: 90 },
          encoding: {
            x: {
              field: "effGradNorm",
              type: "quantitative",
              scale: { type: "log" },
              title: "effective gradient norm",
            },
            y: {
              field: "finalTrainLoss",
              type: "quantitative",
              scale: { type: "log" },
              title: "final train loss",
            },
            color: { field: "regime", type: "nominal" },
          },
        },
        {
          mark: { type: "text", dx: 8, align: "left" },
          encoding: {
            x: { field: "effGradNorm", type: "quantitative" },
            y: { field: "finalTrainLoss", type: "quantitative" },
            text: { field: "label" },
          },
        },
      ],
    }),
  };
}
