/** Where the package's declarative data lives (repository root, or the installed package root). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: `src/config/..` in the repository, `dist/config/..` when installed. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SCHEMAS_DIR = path.join(PACKAGE_ROOT, 'schemas');
export const PROFILES_DIR = path.join(PACKAGE_ROOT, 'profiles');
export const LAUNCHD_DIR = path.join(PACKAGE_ROOT, 'launchd');
export const FIXTURES_DIR = path.join(PACKAGE_ROOT, 'fixtures');
