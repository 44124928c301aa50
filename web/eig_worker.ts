/**
 * The eigenvalue worker of the page's pool: the same module `EigPool` runs under Deno.
 * @module
 */
import "../esd/_eig_worker.ts";
