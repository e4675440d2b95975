import { after } from 'node:test';

const tasks: (() => unknown)[] = [];

// Registered when this module is first imported, i.e. at the top level of the test file, so
// it runs once after every test of the file (an `after` inside a hook would run too early).
after(async () => {
  for (const task of tasks.splice(0).reverse()) await task();
});

/** Runs `task` when the current test file has finished. */
export function onCleanup(task: () => unknown): void {
  tasks.push(task);
}
