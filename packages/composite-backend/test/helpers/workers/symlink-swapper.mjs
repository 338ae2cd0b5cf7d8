// Hostile process for the symlink-race test: keeps turning directories inside the root into
// symlinks to a directory outside it and back, until a stop file appears (or a bounded number
// of swaps has been made), then prints how many swaps it made.
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, unlinkSync } from "node:fs";

const [outside, stopFile, ...victims] = process.argv.slice(2);
const MAX_SWAPS = 2_000_000;

/** Removes whatever is at `path` without ever following a link out of the root. */
function clear(path) {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (stat.isDirectory()) rmSync(path, { recursive: true, force: true });
  else unlinkSync(path);
}

let swaps = 0;
let announced = false;
while (swaps < MAX_SWAPS && (swaps % 64 !== 0 || !existsSync(stopFile))) {
  for (const victim of victims) {
    try {
      clear(victim);
      if (swaps % 2 === 0) symlinkSync(outside, victim);
      else mkdirSync(victim);
    } catch {
      // The backend raced us (created an entry meanwhile): try again next round.
    }
  }
  swaps++;
  if (!announced) {
    announced = true;
    process.stdout.write("ready\n");
  }
}
for (const victim of victims) {
  try {
    clear(victim);
  } catch {
    // best effort
  }
}
process.stdout.write(`swaps ${swaps}\n`);
