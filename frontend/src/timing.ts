// User Timing marks of what the page does ("mg:<step>" measures, in the browser's performance panel and
// read by benchmarks). Never in the way: browsers without measure options (Firefox before 103) skip them.

/** Records a measure from `start` (a performance.now() value) to now. */
export function measureSince(name: string, start: number): void {
  try {
    performance.measure(`mg:${name}`, { start, end: performance.now() });
  } catch {
    // No measure options here: no timing.
  }
}

/** Runs `step` and records how long it took. */
export function timed<T>(name: string, step: () => T): T {
  const start = performance.now();
  try {
    return step();
  } finally {
    measureSince(name, start);
  }
}
