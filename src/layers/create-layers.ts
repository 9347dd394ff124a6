// Builds the configured layers and picks the one a request names.

import type { Config, LayerConfig } from '../config/schema.js';
import { fail } from '../errors.js';
import type { Layer } from './layer.js';
import { BufferPool } from './descriptor-pump.js';
import { OsLayer } from './os-layer.js';
import { S3Layer } from './s3/s3-layer.js';

export interface Layers {
  readonly byName: ReadonlyMap<string, Layer>;
  readonly defaultName: string;
  /** The read buffers every layer's transfers share. */
  readonly pool: BufferPool;
}

/**
 * Creates every configured layer, each by its driver: a folder's root real
 * path is resolved once; an object store is not asked anything yet, so an
 * engine out of reach at start-up does not stop the service (its layer
 * answers FSTYPE_UNAVAILABLE, and /readyz 503, until it can be reached).
 */
export async function createLayers(config: Config): Promise<Layers> {
  const byName = new Map<string, Layer>();
  // One pool for every layer: the budget bounds the service's read buffers as a whole.
  const pool = new BufferPool(config.transfer.readSize, config.transfer.bufferBudget);
  for (const [name, layerConfig] of Object.entries(config.layers)) {
    if (layerConfig.driver === 's3') {
      byName.set(name, new S3Layer(name, layerConfig));
      continue;
    }
    const layer = new OsLayer(name, layerConfig, { readSize: config.transfer.readSize, pool });
    await layer.init();
    byName.set(name, layer);
  }
  return { byName, defaultName: config.defaultLayer, pool };
}

/** Where a layer's root is, for people: its folder, or `s3://bucket/prefix`. Never a credential. */
export function describeLayerRoot(layerConfig: LayerConfig, showPath: (file: string) => string): string {
  return layerConfig.driver === 's3' ? `s3://${layerConfig.bucket}/${layerConfig.prefix}` : showPath(layerConfig.root);
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
