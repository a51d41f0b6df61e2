/** Isolation: Mezzo's containerizer and its pluggable isolators (posix, cgroups, namespaces, /tmp), the Docker containerizer, and GPUs. */

export {
  chooseIsolation,
  formatChoice,
  type HostCapabilities,
  type IsolationChoice,
  probeHost,
  removeAgentCgroups,
} from './capabilities.js';
export {
  CFS_PERIOD_US,
  cfsQuotaUs,
  cpuShares,
  cpuWeight,
  devicesWrites,
  memBytes,
  oomKills,
} from './cgroup-limits.js';
export { CgroupIsolator, cgroupsCpu, cgroupsDevices, cgroupsMem, cgroupsPids } from './cgroups-isolator.js';
export { Containerizer, createContainerizer, IsolationSettings, PLACE_IN_CGROUPS } from './containerizer.js';
export {
  DEFAULT_DOCKER_SOCKET,
  DockerError,
  type DockerTask,
  type DockerTaskEvents,
  type DockerTaskOutput,
  dockerClient,
  engineMessage,
  probeDocker,
  removeDockerContainer,
  removeDockerContainers,
  runDockerTask,
} from './docker-containerizer.js';
export {
  DOCKER_SANDBOX,
  type DockerEnd,
  DockerLabel,
  type DockerTaskSpec,
  dockerCmd,
  dockerContainerName,
  dockerCreateOptions,
  dockerEnd,
  dockerLabels,
  missingImageMessage,
  NO_DOCKER_MESSAGE,
} from './docker-spec.js';
export { dockerUsage, type EngineLimits, type EngineStats, readDockerUsage } from './docker-stats.js';
export { type HostFs, nodeHostFs } from './effects.js';
export {
  assignGpus,
  cudaVisibleDevices,
  detectGpus,
  type Gpu,
  gpuDeviceDenials,
  NVIDIA_MAJOR,
  NVIDIA_SMI_ARGS,
  parseNvidiaSmi,
} from './gpus.js';
export {
  agentCgroup,
  CGROUP_ROOT,
  CgroupController,
  CgroupHierarchies,
  containerCgroup,
  hasController,
  parseCgroupMounts,
} from './hierarchy.js';
export { filesystemTmp, namespacesPid, PID1_INIT, TMP_DIR } from './namespaces-isolator.js';
export { parseProcStat, posixIsolator, sumGroup } from './posix-isolator.js';
export { dockerUlimits, PRLIMIT, prlimitArgs } from './rlimits.js';
export {
  ALL_ISOLATORS,
  type ContainerLimits,
  IsolationError,
  type Isolator,
  IsolatorName,
  type LaunchPlan,
  type Limitation,
  LimitationKind,
  type ResourceUsage,
} from './types.js';
