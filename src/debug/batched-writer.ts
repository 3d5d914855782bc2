// The adapter's output stream when it runs over stdio: the messages one request's handler sends
// (a step's response and its `stopped` event, say) leave in one write when the handler returns.
// A pipe write costs far more than its bytes (a system call, and waking the client), so one write
// per request instead of one per message is what a step costs less of (bench/dap.mjs). Messages a
// handler sends later, from a promise or a timer, are written at once as before; the order of all
// messages is the order they were sent in.
export class BatchedWriter {
  private pending: string[] | null = null;

  constructor(private readonly out: NodeJS.WritableStream) {}

  /** What ProtocolServer calls for each message. */
  write(chunk: string): boolean {
    if (this.pending) {
      this.pending.push(chunk);
      return true;
    }
    return this.out.write(chunk, 'utf8');
  }

  /** Runs `f`; what it writes goes out as one write when it returns or throws (nested calls join the outer one). */
  batch<T>(f: () => T): T {
    if (this.pending) return f();
    this.pending = [];
    try {
      return f();
    } finally {
      const p = this.pending;
      this.pending = null;
      if (p.length > 0) this.out.write(p.length === 1 ? p[0]! : p.join(''), 'utf8');
    }
  }

  /** Writes what the handler sent so far now, and goes on batching (a stop is out before the work that follows it). */
  flush(): void {
    const p = this.pending;
    if (!p || p.length === 0) return;
    this.pending = [];
    this.out.write(p.length === 1 ? p[0]! : p.join(''), 'utf8');
  }

  end(): void {
    this.out.end();
  }

  on(event: string, listener: (...args: unknown[]) => void): this {
    this.out.on(event, listener);
    return this;
  }
}
