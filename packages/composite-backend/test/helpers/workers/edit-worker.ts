// Child process for the cross-process edit test: appends its own tokens to a shared file with
// edit(), retrying after a conflict, and reports how many conflicts it saw.
import { NFSBackend } from "../../../src/index.js";

const [rootDir, name, countText] = process.argv.slice(2);
const backend = new NFSBackend({ rootDir: rootDir!, lockTimeoutMs: 30_000 });
let conflicts = 0;
for (let i = 0; i < Number(countText); i++) {
  for (;;) {
    const result = await backend.edit("/shared.txt", "END", `${name}-${i}\nEND`);
    if (!result.error) break;
    if (!/changed by someone else/.test(result.error)) throw new Error(result.error);
    conflicts++;
  }
}
process.stdout.write(JSON.stringify({ conflicts }));
