/** Plain TCP servers and ports for transport failure tests, on 127.0.0.1 only. */
import { type AddressInfo, createServer, type Socket } from "node:net";

export interface TcpServer {
  port: number;
  close(): Promise<void>;
}

/** A TCP server that hands each connection to `onSocket` (by default: says nothing), and destroys them all on close. */
export async function tcpServer(onSocket: (socket: Socket) => void = () => {}): Promise<TcpServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = await tcpServer();
  await server.close();
  return server.port;
}

/** What `promise` rejected with; a test error if it did not reject. */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("The request was expected to fail.");
}
