/**
 * A minimal Chrome DevTools Protocol client over Deno's built-in WebSocket, and a launcher
 * for a headless Chromium with a fresh profile. Enough to open a page, listen to its console,
 * evaluate expressions and take a screenshot; no dependency beyond the browser binary.
 *
 * @module
 */

/** A browser that could not be started or a protocol call that failed. */
export class BrowserError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BrowserError";
  }
}

/** Flags for Debian's Chromium in a container running as root (see docs/platform.md). */
export const HEADLESS_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--disable-extensions",
  "--disable-default-apps",
  "--mute-audio",
  "--hide-scrollbars",
];

/** Where Chromium is usually installed. */
export const CHROMIUM_CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
];

/** The first candidate that is an existing file, or null. */
export function findChromium(candidates: readonly string[] = CHROMIUM_CANDIDATES): string | null {
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not installed here
    }
  }
  return null;
}

type Handler = (params: Record<string, unknown>, sessionId?: string) => void;

interface Pending {
  resolve(value: Record<string, unknown>): void;
  reject(error: Error): void;
  method: string;
}

/** A DevTools connection to the browser endpoint (commands may target a session). */
export class CdpClient {
  #socket: WebSocket;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #handlers = new Map<string, Handler[]>();
  #timeoutMs: number;

  private constructor(socket: WebSocket, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    socket.onmessage = (event) => this.#receive(String(event.data));
    socket.onclose = () => {
      for (const p of this.#pending.values()) {
        p.reject(new BrowserError(`DevTools connection closed during ${p.method}`));
      }
      this.#pending.clear();
    };
  }

  /** Opens a connection to a `ws://` DevTools endpoint. */
  static connect(url: string, options: { timeoutMs?: number } = {}): Promise<CdpClient> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      const timer = setTimeout(() => {
        socket.close();
        reject(new BrowserError(`no DevTools connection to ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        resolve(new CdpClient(socket, timeoutMs));
      };
      socket.onerror = (event) => {
        clearTimeout(timer);
        reject(new BrowserError(`DevTools connection to ${url} failed: ${describe(event)}`));
      };
    });
  }

  #receive(text: string): void {
    const message = JSON.parse(text) as {
      id?: number;
      result?: Record<string, unknown>;
      error?: { message: string; data?: string };
      method?: string;
      params?: Record<string, unknown>;
      sessionId?: string;
    };
    if (message.id !== undefined) {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.error) {
        const detail = message.error.data ? ` (${message.error.data})` : "";
        pending.reject(new BrowserError(`${pending.method}: ${message.error.message}${detail}`));
      } else pending.resolve(message.result ?? {});
      return;
    }
    if (message.method) {
      for (const h of this.#handlers.get(message.method) ?? []) {
        h(message.params ?? {}, message.sessionId);
      }
    }
  }

  /** Sends a command and waits for its result. */
  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new BrowserError(`${method}: no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(id, {
        method,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#socket.send(
        JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }),
      );
    });
  }

  /** Calls `handler` for every event of this name. */
  on(method: string, handler: Handler): void {
    const handlers = this.#handlers.get(method);
    if (handlers) handlers.push(handler);
    else this.#handlers.set(method, [handler]);
  }

  /** Waits for the next event of this name (within the client's timeout). */
  once(method: string, sessionId?: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new BrowserError(`no ${method} event within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
      let done = false;
      this.on(method, (params, sid) => {
        if (done || (sessionId !== undefined && sid !== sessionId)) return;
        done = true;
        clearTimeout(timer);
        resolve(params);
      });
    });
  }

  /** Closes the connection. */
  close(): void {
    this.#socket.close();
  }
}

function describe(event: Event): string {
  return (event as ErrorEvent).message ?? event.type;
}

/** A running headless browser. */
export interface Browser {
  /** The browser-level DevTools endpoint. */
  endpoint: string;
  /** The last lines Chromium wrote to stderr (for error messages). */
  stderrTail(): string;
  /** Stops the browser and removes its profile. */
  close(): Promise<void>;
}

/**
 * Starts Chromium headless with a fresh profile and the DevTools protocol on a free port.
 *
 * @throws {BrowserError} when it does not start or announce its endpoint in time.
 */
export async function launchBrowser(
  executable: string,
  options: { timeoutMs?: number; extraFlags?: string[] } = {},
): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "late-sam-chromium-" });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(executable, {
      args: [
        ...HEADLESS_FLAGS,
        ...(options.extraFlags ?? []),
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw new BrowserError(`cannot start ${executable}: ${(err as Error).message}`, { cause: err });
  }
  const tail: string[] = [];
  let announce: (url: string) => void = () => {};
  const endpoint = new Promise<string>((resolve) => (announce = resolve));
  const drained = (async () => {
    let buffer = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        tail.push(line);
        if (tail.length > 40) tail.shift();
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
        if (m) announce(m[1]);
      }
    }
  })();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }, 5000);
    await child.status;
    clearTimeout(timer);
    await drained.catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = child.status.then((s) => {
    throw new BrowserError(
      `${executable} exited (code ${s.code}) before opening DevTools:\n${tail.join("\n")}`,
    );
  });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new BrowserError(
            `${executable} did not open DevTools within ${timeoutMs} ms:\n${tail.join("\n")}`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    const url = await Promise.race([endpoint, exited, timeout]);
    return { endpoint: url, stderrTail: () => tail.join("\n"), close };
  } catch (err) {
    await close();
    throw err;
  } finally {
    clearTimeout(timer);
    exited.catch(() => {}); // the browser may exit later, after close()
  }
}
