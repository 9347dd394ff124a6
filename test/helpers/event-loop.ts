// Counts the turns of the event loop while some work runs: what another request needs to be read and answered.

/** Runs `work` and returns its result with the number of times the event loop turned (setImmediate callbacks ran) meanwhile. */
export async function countTurnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    turns += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { result: await work(), turns };
  } finally {
    running = false;
  }
}
