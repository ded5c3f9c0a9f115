/**
 * Every verifier `verify` knows, registered once. To add a kind, register it in your module's function and call
 * that function here (one line each).
 */
import { registerPkgVerifier } from './pkg.js';
import { registerProfileVerifiers } from './profile-verifiers.js';
import { registerWindowsVerifiers } from './windows.js';
import { registerReleaseZipVerifier } from './zip.js';

let done = false;

export function registerAllVerifiers(): void {
  if (done) return;
  done = true;
  registerProfileVerifiers();
  registerPkgVerifier();
  registerReleaseZipVerifier();
  registerWindowsVerifiers();
}
