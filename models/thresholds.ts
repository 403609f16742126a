/**
 * Default cosine-similarity threshold for "same person" with the faceplugin fr_feature embeddings.
 *
 * Chosen with `npm run eval:faces` (README, "Face recognition accuracy"): on the registry data the lowest
 * genuine pair scored 0.598 and the highest impostor pair 0.356. A door compares each visitor with the
 * whole roster (1:N), so the threshold must sit well above the impostor tail: with ~80,000 templates a
 * stranger's best impostor score lies far above the 0.36 seen among 25 faces. 0.55 keeps 0.19 above the
 * highest impostor while still accepting every genuine pair; a blurred or side-on frame that falls below it
 * is retried on the next frames (multi-frame evidence), which is a better failure than a stranger let in.
 */
export const DEFAULT_MATCH_THRESHOLD = 0.55;
