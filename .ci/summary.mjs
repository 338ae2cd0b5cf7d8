// Sums the JSON reports of the test phases into one closing line: "N passed, N failed, N skipped".
import { readdirSync, readFileSync } from "node:fs";

const total = { passed: 0, failed: 0, skipped: 0 };
for (const file of readdirSync(".vitest-results")) {
  const r = JSON.parse(readFileSync(`.vitest-results/${file}`, "utf8"));
  total.passed += r.numPassedTests;
  total.failed += r.numFailedTests;
  total.skipped += r.numPendingTests + (r.numTodoTests ?? 0);
}
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
if (total.passed === 0 || total.failed > 0) process.exit(1);
