/**
 * Compute backends for tfjs.
 *
 * For now the project's only backend is `cpu` (pure JavaScript): the toy problems run on it,
 * and it is the test oracle for faster backends added later (wasm, webgpu, tensorflow).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Backends this build can select. */
export const BACKENDS = ["cpu"] as const;

/** A backend name. */
export type BackendName = (typeof BACKENDS)[number];

/**
 * Selects a backend and waits until it is ready.
 *
 * @throws {Error} naming the backend and the ones available when it cannot be selected.
 */
export async function useBackend(name: BackendName): Promise<BackendName> {
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new Error(`unknown backend "${name}"; available: ${BACKENDS.join(", ")}`);
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs backend "${name}" failed to initialize`);
  await tf.ready();
  if (name === "cpu") {
    // The cpu backend prints a banner suggesting tfjs-node on its first tensor write under
    // Deno/Node; the project chooses its backend deliberately, so mark it as already shown.
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  }
  return name;
}
