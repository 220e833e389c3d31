/** Types of build.mjs, for the tests and benchmarks that make sure dist/ is built before they start. */
export function sourceFingerprint(root?: string): string;
export function hasSources(root?: string): boolean;
export function isBuildFresh(root?: string): boolean;
export function ensureBuilt(options?: { force?: boolean; say?: (line: string) => void }): Promise<boolean>;
