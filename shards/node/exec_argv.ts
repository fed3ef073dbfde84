// Extra Node flags for node processes, from NIMMER_NODE_EXEC_ARGV (e.g. "--trace-gc-nvp"): for
// diagnosing a benchmark's or a test cluster's nodes. Read where node processes are spawned
// (`nimmer up`, the test clusters).
export function nodeExecArgvFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.NIMMER_NODE_EXEC_ARGV ?? '').split(/\s+/).filter((a) => a !== '');
}
