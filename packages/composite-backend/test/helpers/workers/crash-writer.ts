// Child process for the crash test: rewrites one file forever, alternating two contents,
// until the parent kills it with SIGKILL at an arbitrary moment.
import { NFSBackend } from "../../../src/index.js";

const [rootDir, sizeText] = process.argv.slice(2);
const size = Number(sizeText);
const backend = new NFSBackend({ rootDir: rootDir!, maxWriteBytes: size * 2 });
const contents = ["A".repeat(size), "B".repeat(size)];
for (let i = 0; ; i++) {
  const result = await backend.write("/victim.txt", contents[i % 2]!);
  if (result.error) throw new Error(result.error);
  if (i === 0) process.stdout.write("ready\n");
}
