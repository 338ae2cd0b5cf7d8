#!/usr/bin/env node
import { CommanderError } from "commander";
import { buildProgram } from "./commands.js";
import { EXIT, mask } from "./output.js";

// A thin shell: parse flags, call the library, map the outcome to an exit code.
const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; everything else commander raises is a usage error.
    if (
      error.exitCode === 0 ||
      error.code === "commander.helpDisplayed" ||
      error.code === "commander.version"
    ) {
      process.exitCode = EXIT.OK;
    } else {
      if (error.code === "commander.invalidArgument" && !error.message.startsWith("error:")) {
        process.stderr.write(`error: ${mask(error.message)}\n`);
      }
      process.exitCode = EXIT.USAGE;
    }
  } else {
    const e = error as { code?: string; message?: string };
    process.stderr.write(
      `error${e.code ? ` [${e.code}]` : ""}: ${mask(String(e.message ?? error))}\n`,
    );
    process.exitCode = EXIT.ERROR;
  }
}
