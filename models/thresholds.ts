/**
 * Default cosine-similarity threshold for "same person" with the faceplugin fr_feature embeddings.
 * Chosen by `npm run eval:faces` (see README, "Face recognition accuracy"): on the registry photos the
 * lowest genuine pair scored about 0.70 and the highest clean impostor pair about 0.40; 0.55 sits between
 * them with a margin on both sides, leaning towards rejecting strangers (a door that opens for the wrong
 * person is worse than one that asks to try again). The decision policy also requires a margin over the
 * best other person.
 */
export const DEFAULT_MATCH_THRESHOLD = 0.55;
