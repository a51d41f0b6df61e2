import { parseArgs } from 'node:util';
import { connectNats, encode, NatsBus, silentLogger } from '../../bus/index.js';
import { Operator } from '../../frameworks/sdk/index.js';
import { subjects as makeSubjects, TasksAs } from '../../protocol/index.js';
import { fetchState, type PageBytes } from './fetch-state.js';

/**
 * The GET_STATE probe: an operator in a process of its own, so that decoding and validating large
 * pages does not block the simulated agents and frameworks whose latency bench:state measures.
 * Prints one JSON line (Fetched).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nats: { type: 'string' },
      prefix: { type: 'string' },
      calls: { type: 'string', default: '5' },
      page: { type: 'string', default: '10000' },
      as: { type: 'string', default: 'table' },
    },
  });
  if (!values.nats || !values.prefix) throw new Error('--nats and --prefix are required');
  const nc = await connectNats({ servers: values.nats, name: 'mezzo-state-probe', log: silentLogger });
  const bus = new NatsBus(nc, silentLogger, Number.MAX_SAFE_INTEGER);
  const op = await Operator.connect({ nats: bus, prefix: values.prefix, timeoutMs: 120_000 });
  const tasksAs = TasksAs.parse(values.as);
  // The size of a page as it travels: the raw reply, undecoded.
  const subject = makeSubjects(values.prefix).operator();
  const pageBytes: PageBytes = async (tasksFrom, maxTasks, as, agents) =>
    (
      await nc.request(
        subject,
        encode({ type: 'GET_STATE', tasksFrom, maxTasks, tasksAs: as, agentsAs: as, ...agents }),
        {
          timeout: 120_000,
        },
      )
    ).data.byteLength;
  const fetched = await fetchState(op, Number(values.calls), Number(values.page), tasksAs, pageBytes);
  process.stdout.write(`${JSON.stringify(fetched)}\n`);
  await bus.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`state probe: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
