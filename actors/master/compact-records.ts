import type { TaskInfo, TaskStatus } from '../../protocol/index.js';

/*
 * A decoded or validated object is built key by key from `{}`, which V8 gives room for four
 * properties in the object itself; a task's info and status have six or more, so each carried a
 * second object (a property array) for the rest, as did a record that got its uuid later. At
 * 400,000 running tasks that was three objects per task more for every full collection to mark.
 * The classes here copy an info or a status into one object whose fields all live in it (V8 sizes
 * a class's instances by what its constructor assigns). Their instances are plain data: own
 * enumerable fields only, in the protocol's order, absent fields absent; they encode, validate and
 * compare as the objects they copy.
 */

/** CompactTaskInfo is a TaskInfo in one object. */
class CompactTaskInfo {
  declare taskId: TaskInfo['taskId'];
  declare name: TaskInfo['name'];
  declare agentId: TaskInfo['agentId'];
  declare resources: TaskInfo['resources'];
  declare command: TaskInfo['command'];
  declare container: TaskInfo['container'];
  declare killPolicy: TaskInfo['killPolicy'];
  declare rlimits: TaskInfo['rlimits'];
  declare healthCheck: TaskInfo['healthCheck'];
  declare labels: TaskInfo['labels'];

  constructor(s: TaskInfo) {
    this.taskId = s.taskId;
    this.name = s.name;
    if (s.agentId !== undefined) this.agentId = s.agentId;
    this.resources = s.resources;
    this.command = s.command;
    if (s.container !== undefined) this.container = s.container;
    if (s.killPolicy !== undefined) this.killPolicy = s.killPolicy;
    if (s.rlimits !== undefined) this.rlimits = s.rlimits;
    if (s.healthCheck !== undefined) this.healthCheck = s.healthCheck;
    if (s.labels !== undefined) this.labels = s.labels;
  }
}

/** CompactTaskStatus is a TaskStatus in one object. */
class CompactTaskStatus {
  declare taskId: TaskStatus['taskId'];
  declare state: TaskStatus['state'];
  declare reason: TaskStatus['reason'];
  declare source: TaskStatus['source'];
  declare message: TaskStatus['message'];
  declare agentId: TaskStatus['agentId'];
  declare executorId: TaskStatus['executorId'];
  declare uuid: TaskStatus['uuid'];
  declare timestamp: TaskStatus['timestamp'];
  declare healthy: TaskStatus['healthy'];
  declare exitCode: TaskStatus['exitCode'];
  declare signal: TaskStatus['signal'];

  constructor(s: TaskStatus) {
    this.taskId = s.taskId;
    this.state = s.state;
    if (s.reason !== undefined) this.reason = s.reason;
    this.source = s.source;
    if (s.message !== undefined) this.message = s.message;
    if (s.agentId !== undefined) this.agentId = s.agentId;
    if (s.executorId !== undefined) this.executorId = s.executorId;
    if (s.uuid !== undefined) this.uuid = s.uuid;
    this.timestamp = s.timestamp;
    if (s.healthy !== undefined) this.healthy = s.healthy;
    if (s.exitCode !== undefined) this.exitCode = s.exitCode;
    if (s.signal !== undefined) this.signal = s.signal;
  }
}

/** compactInfo copies a task's info into one object (the same one if it already is). */
export function compactInfo<T extends TaskInfo>(info: T): T {
  return info instanceof CompactTaskInfo ? info : (new CompactTaskInfo(info) as unknown as T);
}

/** compactStatus copies a task's status into one object (the same one if it already is). */
export function compactStatus<T extends TaskStatus>(status: T): T {
  return status instanceof CompactTaskStatus ? status : (new CompactTaskStatus(status) as unknown as T);
}
