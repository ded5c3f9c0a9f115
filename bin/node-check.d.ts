/** Types of bin/node-check.js (plain JavaScript: it must run on old Node, before any build). */
export declare const MIN_NODE: readonly [number, number];
export declare const EXIT_OLD_NODE: number;
export declare function nodeVersionProblem(version: string, platform: string, arch: string): string | undefined;
