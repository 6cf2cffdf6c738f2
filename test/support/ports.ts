import net from 'node:net';

/** A port the OS says is free right now (tests start their own servers on loopback only). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Faster SQLite for throwaway test databases; never used for `npm start`. */
export const TEST_SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=OFF'];
