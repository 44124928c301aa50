/**
 * Word-level text as the PTB files and the reference's `data.py` read it: each line split on
 * whitespace with `<eos>` appended (an empty line is a lone `<eos>`), unknown words mapped to
 * `<unk>`. A file's final newline does not start another line.
 * @module
 */

/** What {@link encodeLines} needs of a vocabulary. */
export interface WordIds {
  /** Ids by token. */
  ids: Map<string, number>;
  /** The id of `<unk>`. */
  unk: number;
  /** The id of `<eos>`. */
  eos: number;
}

/** The lines of a text (a trailing newline ends the last line; `\r\n` is a newline). */
export function textLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/**
 * Encodes lines as a token stream.
 * @param lines The lines.
 * @param vocab Ids, `<unk>` and `<eos>`.
 * @returns The ids, and how many words were `<unk>`.
 */
export function encodeLines(lines: string[], vocab: WordIds): { ids: Int32Array; unknown: number } {
  const out: number[] = [];
  let unknown = 0;
  for (const line of lines) {
    for (const w of line.split(/\s+/)) {
      if (!w) continue;
      const id = vocab.ids.get(w);
      if (id === undefined) unknown++;
      out.push(id ?? vocab.unk);
    }
    out.push(vocab.eos);
  }
  return { ids: Int32Array.from(out), unknown };
}
