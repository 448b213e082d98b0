/**
 * `npm run bench [-- --quick]`: runs the benchmarks and prints their tables. Figures are medians of
 * several timed rounds after a warm-up on this machine; compare ratios, not absolute numbers.
 */
import { benchCacheHits, cacheHitTable } from "./cache-hits.js";

const quick = process.argv.includes("--quick");
console.log(`msal-ts benchmarks (${quick ? "quick" : "full"}), Node ${process.version}\n`);
console.log("Cache hits by cache size (should be flat):\n");
console.log(cacheHitTable(benchCacheHits(quick)));
