// Differential semantics suite on the embedded engine (PGlite): same SQL, one connection.
import { semanticsSuite } from "./suite.js";
import { pglite } from "./targets.js";

semanticsSuite(pglite);
