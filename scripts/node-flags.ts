// Node's flags for filegate wherever it is started as deployed: `npm start`, the Dockerfile, docs/deployment.md and `npm run bench`.

/**
 * `--max-semi-space-size=8`: V8's young generation at 8 MB halves, which
 * keeps small requests' objects out of the old generation under load
 * (docs/decisions.md, "Node's young generation"). V8 reads it only when the
 * heap is made, so it cannot be set from the code.
 */
export const FILEGATE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
