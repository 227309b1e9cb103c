/**
 * The project's folder in the user cache, shared by everything that caches files (datasets,
 * the native shim).
 *
 * @module
 */
import { isAbsolute, join } from "node:path";

function readCacheEnv(): Record<string, string | undefined> {
  const get = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // no --allow-env
    }
  };
  return { XDG_CACHE_HOME: get("XDG_CACHE_HOME"), HOME: get("HOME") };
}

/**
 * `$XDG_CACHE_HOME/late-sam/<sub>` (when absolute), else `~/.cache/late-sam/<sub>`, else null
 * (no home folder).
 */
export function userCacheDir(
  sub: string,
  env: Readonly<Record<string, string | undefined>> = readCacheEnv(),
): string | null {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, "late-sam", sub);
  const home = env.HOME;
  if (home) return join(home, ".cache", "late-sam", sub);
  return null;
}
