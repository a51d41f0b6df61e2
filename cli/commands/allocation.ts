import { Command } from 'commander';
import { BusError } from '../../bus/index.js';
import type { Operator } from '../../frameworks/sdk/index.js';
import { resources as R, ResourceParseError, type Resources } from '../../protocol/index.js';
import { action, type ExitBox, type Streams } from '../action.js';
import type { ConfigFlags } from '../config.js';
import { CliError, ExitCode } from '../errors.js';
import { quotaTable, rolesTable, weightsTable } from '../format.js';
import { withClusterOptions } from '../options.js';
import { withOperator } from './operator-session.js';

/** AllocationFlags are the options of `mezzo roles`, `mezzo weights` and `mezzo quota`. */
export interface AllocationFlags extends ConfigFlags {
  json?: boolean;
  guarantee?: string;
  limit?: string;
  remove?: boolean;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** refusedAsUsage turns a BAD_REQUEST (a bad weight, quota or role, here or at the master) into a usage error. */
async function refusedAsUsage<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof BusError && err.code === 'BAD_REQUEST') {
      throw new CliError(err.message, ExitCode.USAGE, { cause: err });
    }
    throw err;
  }
}

function parseResourcesFlag(flag: string, text: string | undefined): Resources | undefined {
  if (text === undefined) return undefined;
  try {
    return R.parseResources(text);
  } catch (err) {
    if (err instanceof ResourceParseError) {
      throw new CliError(`--${flag}: ${err.message}`, ExitCode.USAGE, { cause: err });
    }
    throw err;
  }
}

/** parseWeights reads `role=weight` arguments. */
export function parseWeights(args: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const arg of args) {
    const i = arg.lastIndexOf('=');
    const weight = Number(arg.slice(i + 1));
    if (i <= 0 || arg.slice(i + 1) === '' || Number.isNaN(weight)) {
      throw new CliError(`"${arg}" is not ROLE=WEIGHT, such as eng=3`, ExitCode.USAGE);
    }
    out[arg.slice(0, i)] = weight;
  }
  return out;
}

/** rolesCommand is `mezzo roles`: each role's weight, quota, allocation and dominant share. */
export function rolesCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('roles').description('list the roles with their weight, quota, allocation and share'),
  )
    .option('--json', 'print the operator GET_ROLES result as JSON')
    .action(
      action(box, streams, (opts: AllocationFlags) =>
        withOperator(opts, 'mezzo-roles', async (op) => {
          const roles = await op.roles();
          streams.stdout.write(opts.json ? json({ roles }) : `${rolesTable(roles)}\n`);
          return ExitCode.OK;
        }),
      ),
    );
}

/** weightsCommand is `mezzo weights [ROLE=WEIGHT...]`: show the weights, or set some first. */
export function weightsCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('weights')
      .description('show the role weights, or set some (all or none apply): mezzo weights eng=3 ads=1')
      .argument('[role=weight...]', 'weights to set'),
  )
    .option('--json', 'print the result as JSON')
    .action(
      action(box, streams, (args: string[], opts: AllocationFlags) => {
        const weights = parseWeights(args);
        return withOperator(opts, 'mezzo-weights', async (op: Operator) => {
          const result = await refusedAsUsage(() =>
            Object.keys(weights).length ? op.updateWeights(weights) : op.weights(),
          );
          streams.stdout.write(opts.json ? json(result) : `${weightsTable(result.weights)}\n`);
          return ExitCode.OK;
        });
      }),
    );
}

/** quotaCommand is `mezzo quota [ROLE] [--guarantee RES] [--limit RES] [--remove]`. */
export function quotaCommand(box: ExitBox, streams: Streams): Command {
  return withClusterOptions(
    new Command('quota')
      .description("show the quotas, or set or remove one top-level role's quota")
      .argument('[role]', 'the role whose quota to set'),
  )
    .option('--guarantee <resources>', 'resources set aside for the role, such as "cpus:4;mem:8192"')
    .option('--limit <resources>', 'the most the role may hold, offered and used')
    .option('--remove', "remove the role's quota")
    .option('--json', 'print the result as JSON')
    .action(
      action(box, streams, (role: string | undefined, opts: AllocationFlags) => {
        const guarantee = parseResourcesFlag('guarantee', opts.guarantee);
        const limit = parseResourcesFlag('limit', opts.limit);
        const changes = guarantee !== undefined || limit !== undefined || opts.remove;
        if (changes && !role) throw new CliError('name the role whose quota to change', ExitCode.USAGE);
        if (role && !changes) {
          throw new CliError('give --guarantee, --limit or --remove with a role', ExitCode.USAGE);
        }
        return withOperator(opts, 'mezzo-quota', async (op: Operator) => {
          const result = await refusedAsUsage(() =>
            role ? op.updateQuota(role, opts.remove ? {} : { guarantee, limit }) : op.quota(),
          );
          streams.stdout.write(opts.json ? json(result) : `${quotaTable(result.quotas)}\n`);
          return ExitCode.OK;
        });
      }),
    );
}
