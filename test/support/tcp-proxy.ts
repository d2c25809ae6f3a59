// A TCP proxy in front of an emulator that a test can cut in the middle of a request: once a set number
// of bytes has gone from the clients to the emulator, every connection is destroyed and the port stops
// listening, as when the storage service goes away mid-upload. reopen() listens on the same port again.
import net from 'node:net';

export interface TcpProxy {
  endpoint: string;
  port: number;
  /** Bytes forwarded from clients to the target so far. */
  readonly forwarded: number;
  /** Cuts once `bytes` more have been forwarded; resolves when the cut is done. */
  cutAfter(bytes: number): Promise<void>;
  reopen(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let forwarded = 0;
  let cut: { at: number; done: () => void } | undefined;

  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    track(client);
    track(upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (chunk: Buffer) => {
      forwarded += chunk.length;
      if (cut && forwarded >= cut.at) cutNow();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });

  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const close = () => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    if (server.listening) server.close(() => resolve());
    else resolve();
  });
  const cutNow = () => {
    const pending = cut;
    cut = undefined;
    void close().then(() => pending?.done());
  };

  await listen(0);
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    get forwarded() {
      return forwarded;
    },
    cutAfter: (bytes) => new Promise<void>((resolve) => {
      cut = { at: forwarded + bytes, done: resolve };
    }),
    reopen: () => listen(port),
    stop: close,
  };
}
