// Opens a file the way every transfer does: the layer's rules, then the principal's paths on the real path, then the file policy.

import { checkPathAllowed, type Principal } from '../auth/principal.js';
import type { Layer, OpenFile } from '../layers/layer.js';
import type { LayerPath } from '../paths/layer-path.js';
import { checkFilePolicy, type FilePolicy } from './file-policy.js';

/**
 * Opens `filepath` through the layer (confinement, hidden and symlink rules,
 * descriptor-first), checks that its real path also lies within the
 * principal's paths (a followed symlink must land there too) and that the
 * file policy allows it (type, emptiness, size; by the requested name and
 * the real one), then `routePolicy` when a route alias narrows it further.
 * Raises the first check's error, with the file closed.
 */
export async function openAllowedFile(layer: Layer, principal: Principal, filepath: LayerPath, routePolicy?: FilePolicy): Promise<OpenFile> {
  const file = await layer.open(filepath);
  try {
    checkPathAllowed(principal, file.realSegments, filepath.text);
    const names = [filepath.segments.at(-1) ?? '', file.realSegments.at(-1) ?? ''];
    checkFilePolicy(file.stat, names, layer.policy, filepath.text);
    if (routePolicy) checkFilePolicy(file.stat, names, routePolicy, filepath.text);
    return file;
  } catch (error) {
    file.close();
    throw error;
  }
}
