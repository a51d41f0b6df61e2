/**
 * notProvided is the placeholder body of an effect named in a machine's `setup()`; runtimes bind
 * the real one with `.provide()`. Calling it means the wiring forgot to.
 */
export function notProvided(name: string): never {
  throw new Error(`effect "${name}" was not provided to the machine`);
}
