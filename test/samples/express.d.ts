/**
 * The part of Express 5 and express-session the web samples use, for the samples' type check only:
 * the project has no `@types/express` (a reader who copies a sample installs it). Shapes follow the
 * published types where the samples touch them, so code that checks here checks there too.
 */
declare module "express" {
  import type { IncomingMessage, Server, ServerResponse } from "node:http";
  import type { Session } from "express-session";

  export interface Request extends IncomingMessage {
    /** The path and query as the client sent them, before any router mount point is removed. */
    originalUrl: string;
    /** express-session's session; `SessionData` fields are declared by augmentation in TypeScript. */
    session: Session;
    /** A request header, case-insensitive. */
    get(name: string): string | undefined;
  }

  export interface Response extends ServerResponse {
    status(code: number): this;
    set(field: string, value: string): this;
    type(contentType: string): this;
    send(body: string): this;
    json(body: unknown): this;
    redirect(url: string): void;
    clearCookie(name: string, options?: { path?: string }): this;
  }

  export type NextFunction = (error?: unknown) => void;
  export type RequestHandler = (req: Request, res: Response, next: NextFunction) => unknown;
  export type ErrorRequestHandler = (
    error: unknown,
    req: Request,
    res: Response,
    next: NextFunction,
  ) => unknown;

  export interface Express {
    get(path: string, ...handlers: RequestHandler[]): this;
    use(handler: RequestHandler | ErrorRequestHandler): this;
    disable(setting: string): this;
    listen(port: number, hostname: string, callback: (error?: Error) => void): Server;
  }

  export default function express(): Express;
}

declare module "express-session" {
  import type { RequestHandler } from "express";

  export interface Session {
    id: string;
    regenerate(callback: (error?: unknown) => void): this;
    destroy(callback: (error?: unknown) => void): this;
    save(callback: (error?: unknown) => void): this;
  }

  export interface SessionOptions {
    secret: string | string[];
    name?: string;
    resave?: boolean;
    saveUninitialized?: boolean;
    cookie?: {
      httpOnly?: boolean;
      sameSite?: boolean | "lax" | "strict" | "none";
      secure?: boolean | "auto";
      maxAge?: number;
      path?: string;
    };
  }

  export default function session(options: SessionOptions): RequestHandler;
}
