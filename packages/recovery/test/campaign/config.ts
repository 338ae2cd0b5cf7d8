// Campaign sizes and the seed, from the environment: AGENTSTATE_CAMPAIGN_KILLS scales the random
// campaigns up, AGENTSTATE_CAMPAIGN_SEED replays one.
export function campaignSeed(): number {
  const env = process.env.AGENTSTATE_CAMPAIGN_SEED;
  // Default: a new seed per run, printed with every report so a failure can be replayed.
  return env ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}

/** Random kills per run: at least `min` (the `pnpm test` size), more with AGENTSTATE_CAMPAIGN_KILLS. */
export function campaignKills(min: number): number {
  const env = Number(process.env.AGENTSTATE_CAMPAIGN_KILLS ?? 0);
  return Number.isFinite(env) && env > min ? Math.floor(env) : min;
}
