// Connections to the user database. Readers run in parallel, each on its own connection; writers take
// the one write lock, so two writes never race into a transaction conflict. Past the configured number
// of requests in flight a request is refused at once (429), not queued without bound.
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { EngineError } from './errors.ts';

export interface Lease {
  connection: DuckDBConnection;
  /** Waits for the write lock; released with the lease. */
  lockWrites(): Promise<void>;
  /**
   * Returns the connection. `discard` closes it instead: a request that may have left session state
   * behind (temporary tables, views or macros, PRAGMA settings) must not hand it to the next key.
   */
  release(options?: { discard?: boolean }): void;
}

/** A FIFO mutex: the waiting writers are served in arrival order. */
class WriteLock {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => held);
    return ready;
  }
}

export class ConnectionPool {
  private readonly instance: DuckDBInstance;
  private readonly max: number;
  private readonly idle: DuckDBConnection[] = [];
  private readonly all = new Set<DuckDBConnection>();
  private readonly writes = new WriteLock();
  private inUse = 0;
  /** Writers waiting for the write lock: they do not count as running, but their queue is bounded too. */
  private waitingWriters = 0;
  private closed = false;

  constructor(instance: DuckDBInstance, max: number) {
    this.instance = instance;
    this.max = max;
  }

  get active(): number {
    return this.inUse;
  }

  async acquire(): Promise<Lease> {
    if (this.closed) throw new EngineError(503, 'shutting_down', 'the server is shutting down; retry on the next instance');
    if (this.inUse >= this.max) {
      throw new EngineError(429, 'too_many_queries',
        `${this.max} queries are already running (SKYDUCK_MAX_CONCURRENT_QUERIES); retry after a second`, 1);
    }
    this.inUse++;
    let connection = this.idle.pop();
    try {
      if (!connection) {
        connection = await this.instance.connect();
        this.all.add(connection);
      }
    } catch (error) {
      this.inUse--;
      throw error;
    }
    let unlock: (() => void) | undefined;
    let released = false;
    const leased = connection;
    return {
      connection: leased,
      lockWrites: async () => {
        if (unlock) return;
        // A writer waiting its turn is not running: its slot goes back to readers meanwhile, so cheap
        // reads are not refused because writes queue up behind each other.
        if (this.waitingWriters >= this.max * 4) {
          throw new EngineError(429, 'too_many_queries',
            `${this.waitingWriters} writes are already waiting their turn (writes run one at a time); retry after a second`, 1);
        }
        this.inUse--;
        this.waitingWriters++;
        try {
          unlock = await this.writes.acquire();
        } finally {
          this.waitingWriters--;
          this.inUse++;
        }
      },
      release: (options) => {
        if (released) return;
        released = true;
        unlock?.();
        this.inUse--;
        if (this.closed || options?.discard) {
          this.all.delete(leased);
          leased.closeSync();
        } else {
          this.idle.push(leased);
        }
      },
    };
  }

  /** Interrupts whatever still runs and closes every connection. */
  close(): void {
    this.closed = true;
    for (const connection of this.all) {
      connection.interrupt();
      if (this.idle.includes(connection)) connection.closeSync();
    }
    this.idle.length = 0;
  }
}
