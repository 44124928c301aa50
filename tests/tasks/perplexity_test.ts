import { deepEqual, equal, match } from "node:assert/strict";
import { Model } from "../../models/model.ts";
import { decoderConfig } from "../../models/transformer/config.ts";
import { Decoder } from "../../models/transformer/decoder.ts";
import { saveDecoderFolder } from "../../models/transformer/hf_folder.ts";
import { encodeLines, textLines } from "../../data/text.ts";
import { perplexity } from "../../train/lm_eval.ts";
import { vocabulary } from "../../models/transformer/hf_folder.ts";
import { gpu, gpuTest } from "../_helpers.ts";
import { runTask } from "../_task.ts";

const TASK = new URL("../../tasks/perplexity.ts", import.meta.url);
const WORDS = ["<unk>", "<eos>", "the", "cat", "sat", "on", "a", "mat", "dog", "ran"];

gpuTest(
  "deno task perplexity DIR --data FILE --json prints exactly {tokens, nll, perplexity}; bad input is named",
  async () => {
    const dir = await Deno.makeTempDir();
    const c = decoderConfig({ type: "llama", vocab: 10, positions: 6, dim: 8, layers: 1, heads: 2, ffn: 8 });
    const model = new Model(gpu, new Decoder(gpu, c), 5);
    await saveDecoderFolder(`${dir}/m`, model, c, WORDS);
    // A blank line is a lone <eos>; a leading space and \r\n are whitespace; "zebra" is <unk>.
    const text = " the cat sat on the mat\r\n\nthe dog ran zebra\n";
    await Deno.writeTextFile(`${dir}/t.txt`, text);
    const { ids } = encodeLines(textLines(text), vocabulary(WORDS));
    deepEqual([...ids], [2, 3, 4, 5, 2, 7, 1, 1, 2, 8, 9, 0, 1]);
    for (const L of [undefined, 4]) {
      const r = await runTask(TASK, [
        `${dir}/m`,
        "--data",
        `${dir}/t.txt`,
        "--json",
        ...(L ? ["--seq-len", `${L}`] : []),
      ]);
      equal(r.code, 0, r.err);
      const got = JSON.parse(r.out);
      deepEqual(Object.keys(got), ["tokens", "nll", "perplexity"]);
      const want = await perplexity(model, ids, L ?? 6);
      equal(got.tokens, 12);
      equal(got.nll, want.nll);
      equal(got.perplexity, Math.exp(got.nll));
    }
    const fail = async (args: string[], re: RegExp) => {
      const r = await runTask(TASK, args);
      equal(r.code, 1);
      match(r.err, re);
    };
    await fail(
      [`${dir}/m`, "--data", `${dir}/t.txt`, "--seq-len", "7"],
      /--seq-len 7: longer than the model's 6 positions/,
    );
    await fail([`${dir}/m`], /Missing --data/);
    await fail([`${dir}/m`, "--data", `${dir}/none.txt`], /none.txt: no such file/);
    await Deno.writeFile(`${dir}/bin.txt`, new Uint8Array([0x61, 0xff, 0x62]));
    await fail([`${dir}/m`, "--data", `${dir}/bin.txt`], /bin.txt: not valid UTF-8 text/);
    await Deno.writeTextFile(`${dir}/e.txt`, "");
    await fail([`${dir}/m`, "--data", `${dir}/e.txt`], /e.txt: the file is empty/);
    await fail([`${dir}/x`, "--data", `${dir}/t.txt`], /Model folder .*x: no such folder/);
    model.release();
  },
);
