import { parseArgs } from 'node:util';
import {
  appendResults,
  DEFAULT_ROUNDS,
  FULL_GRID,
  type GridOptions,
  machine,
  resultsMarkdown,
  runGrid,
  runPoint,
  SMOKE_GRID,
  SMOKE_ROUNDS,
} from './index.js';

const HELP = `usage: npm run bench:allocator -- [options]

Runs the pure allocator in Mesos's DeclineOffers shape and prints one line per point:
  allocator agents=N frameworks=M cycle_ms_p50=.. cycle_ms_p99=.. ...
then appends a table to bench/RESULTS.md.

  --agents N --frameworks M   run one point instead of the grid
  --rounds N|full             rounds per point (default ${DEFAULT_ROUNDS}; full = Mesos's 2 x frameworks,
                              skipping points whose filters would not fit)
  --smoke                     a tiny grid, quickly; writes nothing
  --no-write                  do not append to the results file
  --results PATH              results file (default bench/RESULTS.md)
  --seed N                    agent visiting order seed (default 42)
`;

function main(): void {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string' },
      frameworks: { type: 'string' },
      rounds: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
      results: { type: 'string', default: 'bench/RESULTS.md' },
      seed: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const int = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const x = Number(text);
    if (!Number.isInteger(x) || x <= 0) throw new Error(`--${name} takes a positive integer, not "${text}"`);
    return x;
  };
  const rounds = values.smoke
    ? SMOKE_ROUNDS
    : values.rounds === 'full'
      ? 'full'
      : int('rounds', values.rounds);
  const opts: GridOptions = { rounds, seed: int('seed', values.seed) ?? 42 };
  const agents = int('agents', values.agents);
  const frameworks = int('frameworks', values.frameworks);
  if ((agents === undefined) !== (frameworks === undefined))
    throw new Error('--agents and --frameworks go together');
  const points = values.smoke ? SMOKE_GRID : agents && frameworks ? [{ agents, frameworks }] : FULL_GRID;

  // Warm the JIT so the first point's p99 is not the compiler's.
  if (!values.smoke) runPoint({ agents: 2_000, frameworks: 200, rounds: 10 });
  const outcome = runGrid(points, opts, (line) => process.stdout.write(`${line}\n`));
  for (const s of outcome.skipped)
    process.stdout.write(
      `# skipped agents=${s.point.agents} frameworks=${s.point.frameworks}: ${s.reason}\n`,
    );
  if (values.smoke || values['no-write']) return;
  const how =
    rounds === 'full'
      ? "Each point runs all of Mesos's 2 x frameworks rounds."
      : `Each point runs the first ${rounds ?? DEFAULT_ROUNDS} of Mesos's 2 x frameworks rounds.`;
  appendResults(
    values.results as string,
    resultsMarkdown(outcome, machine(), `${how} Cycle percentiles are over the rounds that made offers.`),
  );
  process.stdout.write(`# appended to ${values.results}\n`);
}

main();
