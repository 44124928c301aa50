import { matmul } from "../mod.ts";
console.log(typeof matmul);
