/** The `mezzo` subcommands, one file each. */
export { agentCommand } from './agent.js';
export { quotaCommand, rolesCommand, weightsCommand } from './allocation.js';
export { appsCommands } from './apps.js';
export { credsCommand } from './creds.js';
export { killCommand } from './kill.js';
export { agentsCommand, frameworksCommand, tasksCommand } from './list.js';
export { masterCommand } from './master.js';
export { runCommand } from './run.js';
export { simulateCommand } from './simulate.js';
export { statusCommand } from './status.js';
export { topCommand } from './top.js';
export { upCommand } from './up.js';
