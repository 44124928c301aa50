/**
 * The weight shapes of a CIFAR ResNet-18 (3×3 stem, no max-pool, 10 classes), PyTorch names.
 * @module
 */

/** [name, shape] of every Conv2d and Linear weight, in model order. */
export function resnet18Shapes(classes = 10): [string, number[]][] {
  const out: [string, number[]][] = [["conv1.weight", [64, 3, 3, 3]]];
  let inC = 64;
  [64, 128, 256, 512].forEach((c, stage) => {
    for (let blk = 0; blk < 2; blk++) {
      const p = `layer${stage + 1}.${blk}`;
      out.push([`${p}.conv1.weight`, [c, inC, 3, 3]], [`${p}.conv2.weight`, [c, c, 3, 3]]);
      if (inC !== c) out.push([`${p}.shortcut.0.weight`, [c, inC, 1, 1]]);
      inC = c;
    }
  });
  out.push(["linear.weight", [classes, 512]]);
  return out;
}
