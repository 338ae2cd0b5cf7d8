// Every scenario of the differential suite, by family.
import type { Scenario } from "../scenario.js";
import { agents } from "./agents.js";
import { basic } from "./basic.js";
import { breakpoints } from "./breakpoints.js";
import { commands } from "./commands.js";
import { delta } from "./delta.js";
import { failures } from "./failures.js";
import { interrupts } from "./interrupts.js";
import { long } from "./long.js";
import { loops } from "./loops.js";
import { reducers } from "./reducers.js";
import { send } from "./send.js";
import { subgraphs } from "./subgraphs.js";
import { updates } from "./updates.js";
import { values } from "./values.js";

export const scenarios: Scenario[] = [
  ...basic,
  ...loops,
  ...send,
  ...subgraphs,
  ...interrupts,
  ...commands,
  ...breakpoints,
  ...updates,
  ...failures,
  ...reducers,
  ...delta,
  ...agents,
  ...values,
  ...long,
];

const names = new Set<string>();
for (const s of scenarios) {
  const key = `${s.family}/${s.name}`;
  if (names.has(key)) throw new Error(`duplicate scenario ${key}`);
  names.add(key);
}
