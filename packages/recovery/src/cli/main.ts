#!/usr/bin/env node
// The agentstate CLI entry point: builds the commander program, runs it, and turns what it throws
// into the exit codes and messages of cli/output.ts.
import { CommanderError } from "commander";
import { buildProgram } from "./commands.js";
import { EXIT, mask } from "./output.js";

// A thin shell: parse flags, call the library, map the outcome to an exit code. With --json
// every outcome is one JSON object on stdout, errors included, so a cron log stays JSON lines.
const json = process.argv.includes("--json");
const fail = (code: string, message: string, exitCode: number) => {
  if (json) {
    const error = { code, message: mask(message) };
    process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), error })}\n`);
  } else {
    process.stderr.write(`error${code ? ` [${code}]` : ""}: ${mask(message)}\n`);
  }
  process.exitCode = exitCode;
};

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
    } else if (json) {
      fail("USAGE", error.message.replace(/^error: /, ""), EXIT.USAGE);
    } else {
      if (error.code === "commander.invalidArgument" && !error.message.startsWith("error:")) {
        process.stderr.write(`error: ${mask(error.message)}\n`);
      }
      process.exitCode = EXIT.USAGE;
    }
  } else {
    const e = error as { code?: string; message?: string };
    fail(e.code ?? "ERROR", String(e.message ?? error), EXIT.ERROR);
  }
}
