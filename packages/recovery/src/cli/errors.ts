// The CLI's own refusals (no database named, schema not set up): a code and a message that says
// what to run, printed by main.ts as text or, with --json, as {"error":{code,message}}.
export type CliErrorCode = "NO_DATABASE" | "NOT_SET_UP";

export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    readonly code: CliErrorCode,
    message: string,
  ) {
    super(message);
  }
}
