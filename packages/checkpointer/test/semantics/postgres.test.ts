// Differential semantics suite on a real Postgres server (see suite.ts).
import { pgUp } from "../helpers.js";
import { semanticsSuite } from "./suite.js";
import { postgres } from "./targets.js";

if (pgUp) semanticsSuite(postgres);
else it.skip("semantics on postgres (server unreachable)", () => {});
