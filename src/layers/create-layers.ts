// Builds the configured layers and picks the one a request names.

import type { Config } from '../config/schema.js';
import { fail } from '../errors.js';
import type { Layer } from './layer.js';
import { BufferPool } from './descriptor-pump.js';
import { OsLayer } from './os-layer.js';

export interface Layers {
  readonly byName: ReadonlyMap<string, Layer>;
  readonly defaultName: string;
  /** The read buffers every layer's transfers share. */
  readonly pool: BufferPool;
}

/** Creates every configured layer and resolves each root's real path once. */
export async function createLayers(config: Config): Promise<Layers> {
  const byName = new Map<string, Layer>();
  // One pool for every layer: the budget bounds the service's read buffers as a whole.
  const pool = new BufferPool(config.transfer.readSize, config.transfer.bufferBudget);
  for (const [name, layerConfig] of Object.entries(config.layers)) {
    const layer = new OsLayer(name, layerConfig, { readSize: config.transfer.readSize, pool });
    await layer.init();
    byName.set(name, layer);
  }
  return { byName, defaultName: config.defaultLayer, pool };
}

/** The layer named by `fstype`, or the default one; UNKNOWN_FSTYPE when there is none of that name. */
export function resolveLayer(layers: Layers, fstype: string | undefined): Layer {
  const name = fstype ?? layers.defaultName;
  const layer = layers.byName.get(name);
  if (!layer) {
    fail('UNKNOWN_FSTYPE', `fstype ${JSON.stringify(name)} is not a layer of this service`);
  }
  return layer;
}
