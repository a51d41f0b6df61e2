import { Operator } from '../../frameworks/sdk/index.js';
import { type ClusterConnection, connectCluster, explainMasterError } from '../cluster-connection.js';
import type { ConfigFlags } from '../config.js';
import { cliLogger } from '../logging.js';
import { clusterFlags } from '../options.js';

/**
 * withOperator connects to the cluster, runs `body` with an Operator client, and closes the
 * connection; "no master answered" becomes a message naming the cluster.
 */
export async function withOperator<T>(
  flags: ConfigFlags,
  name: string,
  body: (op: Operator, conn: ClusterConnection) => Promise<T>,
): Promise<T> {
  const log = cliLogger(name, 'warn');
  const conn = await connectCluster(clusterFlags(flags), name, log);
  try {
    return await body(new Operator(conn.bus, conn.subjects, false, { principal: conn.principal }), conn);
  } catch (err) {
    throw explainMasterError(err, conn);
  } finally {
    await conn.close().catch(() => {});
  }
}
