/**
 * Work that runs after Slack has been answered. Failures are logged (the person was already
 * told what could be told); on shutdown the service waits a little for work in flight, so an
 * approval clicked just before Ctrl-C still reaches the session.
 */
export class Background {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly warn: (message: string) => void) {}

  run(work: () => Promise<void>): void {
    const task: Promise<void> = Promise.resolve()
      .then(work)
      .catch((error: unknown) => this.warn(`slack: background work failed: ${(error as Error)?.stack ?? String(error)}`))
      .finally(() => this.running.delete(task));
    this.running.add(task);
  }

  /** Resolves when the work in flight has finished, or after `timeoutMs`, whichever is first. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.running]), deadline]).finally(() => clearTimeout(timer));
  }
}
